"""Every error path of the HTTP layer answers in the one shape, from the one place (middleware/errors.py)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.httpstate import MAX_BODY, make_connect, serving

from connect.errors import RunInterrupted
from connect.http.auth import KeyRing, parse_key
from connect.http.gate import lockdown
from connect.http.state import Connect

ADMIN = "admin-key-0123456789abcdef"
RUNNER = "runner-key-0123456789abcdef"
AS_ADMIN, AS_RUNNER = {"Authorization": f"Bearer {ADMIN}"}, {"Authorization": f"Bearer {RUNNER}"}
KEYS = KeyRing([parse_key(ADMIN, "t"), parse_key(f"{RUNNER} run other-*", "t")])
HTTP = Path(__file__).parent.parent / "connect" / "http"
TOO_BIG = b"x" * (MAX_BODY + 1)
Setup = Callable[[Connect], None]


@web.middleware
async def bare_403(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """What ComfyUI's origin check answers: a bare 403 text."""
    if "X-Bare" in request.headers:
        return web.Response(status=403, text="Forbidden")
    return await handler(request)


def _failing_store(connect: Connect) -> None:
    def load(name: str) -> Any:
        raise RuntimeError("disk on fire")

    connect.store.load = load  # type: ignore[method-assign]


def _failed_job(connect: Connect) -> None:
    job = SimpleNamespace(id="j1", prompt_id="p1")
    failed = SimpleNamespace(
        id="j1",
        finished=True,
        status="cancelled",
        error=RunInterrupted("stopped", {"reason": "ui"}).body()["error"],
        error_status=409,
        instance=None,
    )

    async def start(run: Any) -> Any:
        return job, False

    async def wait(job_id: str, seconds: float) -> Any:
        return failed

    jobs: Any = connect.jobs  # stand-ins for the runner's two calls this route makes
    jobs.start, jobs.wait = start, wait


def _nothing(connect: Connect) -> None:
    pass


CASES = [
    pytest.param("GET", "/connect/workflows", {}, b"", _nothing, 401, "unauthorized", id="401-no-key"),
    pytest.param("GET", "/connect/workflows", {"Authorization": "Basic x"}, b"", _nothing, 401, "unauthorized", id="401-not-bearer"),
    pytest.param("PUT", "/connect/workflows/canvas", AS_RUNNER, b"{}", _nothing, 403, "forbidden", id="403-scope"),
    pytest.param("GET", "/connect/metrics", AS_RUNNER, b"", _nothing, 403, "forbidden", id="403-admin-only"),
    pytest.param("GET", "/connect/nothing", AS_ADMIN, b"", _nothing, 404, "not_found", id="404-namespace"),
    pytest.param("GET", "/connect/workflows/none", AS_ADMIN, b"", _nothing, 404, "not_found", id="404-domain"),
    pytest.param("TRACE", "/connect/health", {}, b"", _nothing, 405, "method_not_allowed", id="405-method"),
    pytest.param(
        "PUT",
        "/connect/workflows/a",
        AS_ADMIN,
        TOO_BIG,
        _nothing,
        413,
        "payload_too_large",
        id="413",
    ),
    pytest.param(
        "GET",
        "/connect/workflows/canvas",
        AS_ADMIN,
        b"",
        _failing_store,
        500,
        "internal_error",
        id="500-unexpected",
    ),
    pytest.param(
        "POST",
        "/connect/workflows/canvas",
        AS_ADMIN,
        b"{}",
        _failed_job,
        409,
        "interrupted",
        id="409-failed-job",
    ),
    pytest.param("POST", "/connect/workflows/canvas", AS_ADMIN, b"{}", _nothing, 503, "unavailable", id="503-domain"),
    pytest.param(
        "GET",
        "/connect/workflows",
        {**AS_ADMIN, "X-Bare": "1"},
        b"",
        _nothing,
        403,
        "forbidden",
        id="403-bare-answer",
    ),
    pytest.param(
        "OPTIONS",
        "/connect/workflows",
        {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        b"",
        _nothing,
        403,
        "forbidden",
        id="403-preflight",
    ),
]


def call(
    root: Path, method: str, path: str, headers: dict[str, str], body: bytes, setup: Setup
) -> tuple[aiohttp.ClientResponse, Any, Connect]:
    connect = make_connect(root, KEYS, cors="https://app.example")
    setup(connect)

    async def main() -> tuple[aiohttp.ClientResponse, Any]:
        async with (
            serving(connect, [bare_403]) as server,
            aiohttp.ClientSession() as session,
            session.request(method, server.make_url(path), headers=headers, data=body, allow_redirects=False) as response,
        ):
            return response, await response.json()

    response, answer = asyncio.run(main())
    return response, answer, connect


@pytest.mark.parametrize(("method", "path", "headers", "body", "setup", "status", "type_"), CASES)
def test_every_error_path_answers_the_one_shape(
    tmp_path: Path, method: str, path: str, headers: dict[str, str], body: bytes, setup: Setup, status: int, type_: str
) -> None:
    response, answer, connect = call(tmp_path, method, path, headers, body, setup)
    assert response.status == status, answer
    assert response.content_type == "application/json"
    assert set(answer) == {"error"} and set(answer["error"]) == {"type", "message", "details"}, answer
    assert answer["error"]["type"] == type_, answer
    assert response.headers.getall("Vary") == ["Origin"]  # the CORS middleware saw the answer too
    assert f'connect_errors_total{{type="{type_}"}} 1' in connect.metrics.render({})


def test_the_401_challenges_and_the_405_lists_the_methods(tmp_path: Path) -> None:
    response, _, _ = call(tmp_path, "GET", "/connect/workflows", {}, b"", _nothing)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ComfyUI-Connect"'
    response, _, _ = call(tmp_path, "TRACE", "/connect/health", {}, b"", _nothing)
    assert response.headers["Allow"] == "GET,HEAD"


def test_a_failed_job_keeps_its_headers(tmp_path: Path) -> None:
    response, answer, _ = call(tmp_path, "POST", "/connect/workflows/canvas", AS_ADMIN, b"{}", _failed_job)
    assert response.headers["X-Connect-Job-Id"] == "j1" and response.headers["X-Connect-Prompt-Id"] == "p1"
    assert answer["error"]["details"] == {"reason": "ui"}


def test_lockdown_answers_503_in_the_shape_for_every_route() -> None:
    async def main() -> tuple[int, Any]:
        app = web.Application(middlewares=[lockdown("a key is too short")])

        async def never(request: web.Request) -> web.Response:
            return web.Response(text="never")

        app.router.add_get("/prompt", never)
        async with TestServer(app) as server, aiohttp.ClientSession() as session, session.get(server.make_url("/prompt")) as r:
            return r.status, await r.json()

    status, answer = asyncio.run(main())
    assert status == 503 and answer["error"]["type"] == "unavailable" and "a key is too short" in answer["error"]["message"]


# Building an error answer anywhere else would be a second place with its own idea of the shape.
_RENDERING = re.compile(r"error_body\(|json_response\([^)]*(\"error\"|\.body\(\))|json_response\([^)]*status=[45]\d\d")


def test_no_other_module_of_the_http_layer_renders_an_error() -> None:
    found = [
        f"{path.relative_to(HTTP)}: {line.strip()}"
        for path in sorted(HTTP.rglob("*.py"))
        if path != HTTP / "middleware" / "errors.py"
        for line in path.read_text().splitlines()
        if _RENDERING.search(line)
    ]
    assert found == []
