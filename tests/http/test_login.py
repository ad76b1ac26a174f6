from __future__ import annotations

import asyncio
from typing import Any, cast

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from connect.http.auth import KeyRing, parse_key
from connect.http.login import login_submit
from connect.http.middleware.errors import errors
from connect.http.routes import with_state
from connect.http.state import CONNECT

KEY = "login-key-0123456789abcdef"


def submit(keys: KeyRing, form: dict[str, str]) -> tuple[int, str]:
    async def main() -> tuple[int, str]:
        app = web.Application()
        app[CONNECT] = cast(Any, None)  # the login handler reads no state
        app.router.add_post("/connect/login", lambda r: login_submit(r, keys))
        async with TestServer(app) as server, aiohttp.ClientSession() as session:
            response = await session.post(server.make_url("/connect/login"), data=form, allow_redirects=False)
            response.release()
            return response.status, response.headers.get("Location", "")

    return asyncio.run(main())


def test_a_post_without_a_key_is_refused_when_keys_are_configured() -> None:
    keys = KeyRing([parse_key(KEY, "t")])
    assert submit(keys, {})[0] == 401
    assert submit(keys, {"key": "   ", "next": "/x"})[0] == 401
    assert submit(KeyRing([]), {}) == (303, "/")  # without keys there is nothing to check


def test_a_key_logs_in_and_a_wrong_one_is_401() -> None:
    keys = KeyRing([parse_key(KEY, "t")])
    assert submit(keys, {"key": KEY, "next": "/x"}) == (303, "/x")
    assert submit(keys, {"key": "wrong-key-0123456789abcdef"})[0] == 401
    assert submit(KeyRing([]), {"key": "anything"}) == (303, "/")  # without keys there is nothing to check


def test_an_unreadable_form_is_400_not_500() -> None:
    async def main() -> int:
        app = web.Application(middlewares=[errors])
        app[CONNECT] = cast(Any, None)  # the login handler reads no state
        app.router.add_post("/connect/login", with_state(lambda r, c: login_submit(r, KeyRing([]))))
        async with TestServer(app) as server, aiohttp.ClientSession() as session:
            headers = {"Content-Type": "multipart/form-data"}  # no boundary
            response = await session.post(server.make_url("/connect/login"), data=b"key=&next=", headers=headers)
            response.release()
            return response.status

    assert asyncio.run(main()) == 400
