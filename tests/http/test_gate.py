"""The gate middleware on a plain aiohttp app (a real server on a free port, no ComfyUI)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from connect.http.auth import KeyRing, parse_key
from connect.http.gate import Cors, Gate
from connect.ops.metrics import Metrics
from connect.run.limits import Admission

ADMIN = "admin-key-0123456789abcdef"
RUNNER = "runner-key-0123456789abcdef"
Client = Callable[..., Awaitable[aiohttp.ClientResponse]]


@asynccontextmanager
async def served(gate: Gate, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    app = web.Application(middlewares=gate.middlewares())
    app.router.add_route("*", "/connect/workflows/{name:.+}", handler)
    app.router.add_route("*", "/prompt", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def make_gate(**overrides: Any) -> Gate:
    keys = KeyRing([parse_key(ADMIN, "t"), parse_key(f"{RUNNER} run safe-*", "t")])
    fields: dict[str, Any] = {
        "keys": keys,
        "protect_all": True,
        "cors": Cors.parse("https://app.example"),
        "max_body": 1000,
        "admission": Admission(10, 1, lambda: 0, lambda: 1.0),
        "metrics": Metrics(),
        "worker_alive": lambda: True,
    }
    return Gate(**{**fields, **overrides})


async def ok(request: web.Request) -> web.StreamResponse:
    await request.read()
    return web.json_response({"ok": True})


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coroutine)


def test_keys_and_scopes() -> None:
    async def check() -> None:
        async with served(make_gate(), ok) as url, aiohttp.ClientSession() as http:
            async with http.post(f"{url}/connect/workflows/safe-a") as r:
                assert r.status == 401 and (await r.json())["error"]["type"] == "unauthorized"
            bearer = {"Authorization": f"Bearer {RUNNER}"}
            async with http.post(f"{url}/connect/workflows/safe-a", headers=bearer) as r:
                assert r.status == 200
            async with http.put(f"{url}/connect/workflows/safe-a", headers=bearer) as r:
                assert r.status == 403
            async with http.post(f"{url}/prompt", headers=bearer) as r:
                assert r.status == 403
            async with http.post(f"{url}/prompt", headers={"Authorization": f"Bearer {ADMIN}"}) as r:
                assert r.status == 200
            async with http.get(f"{url}/", headers={"Accept": "text/html"}, allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/connect/login?next=%2F"
            async with http.get(f"{url}/connect/nothing-here", headers={"Authorization": f"Bearer {ADMIN}"}) as r:
                assert r.status == 404 and (await r.json())["error"]["type"] == "not_found"

    run(check())


def test_body_limit_and_cors() -> None:
    async def check() -> None:
        async with served(make_gate(), ok) as url, aiohttp.ClientSession() as http:
            admin = {"Authorization": f"Bearer {ADMIN}"}
            async with http.post(f"{url}/connect/workflows/a", data=b"x" * 1001, headers=admin) as r:
                assert r.status == 413 and (await r.json())["error"]["type"] == "payload_too_large"
            preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
            async with http.options(f"{url}/connect/workflows/a", headers=preflight) as r:
                assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "https://app.example"
            async with http.options(f"{url}/connect/workflows/a", headers={**preflight, "Origin": "https://evil.example"}) as r:
                assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
            # An error answer (here the 401) is marked for an allowed origin too, so its page can read it.
            async with http.post(f"{url}/connect/workflows/a", headers={"Origin": "https://app.example"}) as r:
                assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == "https://app.example"
                assert "WWW-Authenticate" in r.headers["Access-Control-Expose-Headers"] and r.headers["Vary"] == "Origin"

    run(check())


def test_admission_per_client_and_a_dead_worker() -> None:
    release = asyncio.Event()

    async def held(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.json_response({})

    async def check() -> None:
        async with served(make_gate(), held) as url, aiohttp.ClientSession() as http:
            bearer = {"Authorization": f"Bearer {RUNNER}"}
            first = asyncio.ensure_future(http.post(f"{url}/connect/workflows/safe-a", headers=bearer))
            await asyncio.sleep(0.2)
            async with http.post(f"{url}/connect/workflows/safe-a", headers=bearer) as r:
                assert r.status == 429 and r.headers["Retry-After"] == "1"
            release.set()
            assert (await first).status == 200
        async with served(make_gate(worker_alive=lambda: False), ok) as url, aiohttp.ClientSession() as http:
            r = await http.post(f"{url}/connect/workflows/safe-a", headers={"Authorization": f"Bearer {ADMIN}"})
            assert r.status == 503 and (await r.json())["error"]["type"] == "unavailable"

    run(check())


def test_a_client_that_leaves_cancels_the_run() -> None:
    cancelled = asyncio.Event()
    started = asyncio.Event()

    async def forever(request: web.Request) -> web.StreamResponse:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return web.json_response({})

    async def check() -> None:
        async with served(make_gate(), forever) as url:
            async with aiohttp.ClientSession() as http:
                call = asyncio.ensure_future(http.post(f"{url}/connect/workflows/safe-a", headers={"Authorization": f"Bearer {ADMIN}"}))
                await asyncio.wait_for(started.wait(), 10)
                call.cancel()  # the client hangs up
            await asyncio.wait_for(cancelled.wait(), 10)

    run(check())


def test_a_method_the_route_lacks_is_405_in_the_error_shape_with_allow() -> None:
    async def check() -> None:
        app = web.Application(middlewares=make_gate(keys=KeyRing(), protect_all=False).middlewares())
        app.router.add_get("/connect/health", ok)
        app.router.add_post("/connect/logout", ok)
        app.router.add_static("/", Path(__file__).parent)  # ComfyUI serves its page from "/": it matches every path for GET
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as http:
                for path, allow in (("/connect/health", "GET,HEAD"), ("/connect/logout", "POST")):
                    async with http.request("TRACE", f"http://127.0.0.1:{port}{path}") as r:
                        assert r.status == 405 and (await r.json())["error"]["type"] == "method_not_allowed"
                        assert r.headers["Allow"] == allow, path
                async with http.get(f"http://127.0.0.1:{port}/connect/logout") as r:  # the static root matches it for GET
                    assert r.status == 405 and r.headers["Allow"] == "POST"
        finally:
            await runner.cleanup()

    run(check())
