from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from connect.errors import ConnectError
from connect.http.multipart import part_references, run_body
from connect.io.inputs import FileLimits, InputFiles

MAX_FILE, MAX_BODY = 1000, 2500
REF = {"load": {"image": {"type": "file", "part": "img"}}}
PAYLOAD = ("payload", json.dumps(REF), None)


def serve_and_send(input_dir: Path, send: Any) -> tuple[int, Any]:
    """A real aiohttp server whose handler reads the body with run_body; `send(session, url)` posts to it."""
    files = InputFiles(input_dir, FileLimits())
    seen: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.Response:
        async def read_json() -> Any:
            return await request.json()

        try:
            async with run_body(request, files, MAX_FILE, MAX_BODY, read_json) as body:
                parts = body.parts or {}
                seen["tmp"] = [p.tmp for p in parts.values()]
                answer = {
                    "payload": body.payload,
                    "multipart": body.parts is not None,
                    "parts": {n: [p.tmp.read_bytes().decode(), p.digest, p.size, p.filename] for n, p in parts.items()},
                }
        except ConnectError as exc:
            return web.json_response(exc.body(), status=exc.status)
        return web.json_response(answer)

    async def main() -> tuple[int, Any]:
        app = web.Application()
        app.router.add_post("/run", handler)
        async with (
            TestServer(app) as server,
            aiohttp.ClientSession() as session,
            await send(session, str(server.make_url("/run"))) as answer,
        ):
            return answer.status, await answer.json()

    status, body = asyncio.run(main())
    for tmp in seen.get("tmp", []):
        assert not tmp.exists()  # removed when the run is over
    assert not list(input_dir.glob(".connect-*")) if input_dir.exists() else True
    return status, body


def form(*parts: tuple[str, bytes | str, str | None]) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value, filename in parts:
        data.add_field(name, value, filename=filename, content_type="application/json" if name == "payload" else None)
    return data


def post(data: Any, **kwargs: Any) -> Any:
    async def send(session: aiohttp.ClientSession, url: str) -> Any:
        return session.post(url, data=data, **kwargs)

    return send


def test_a_json_body_is_read_as_before(tmp_path: Path) -> None:
    status, body = serve_and_send(tmp_path, post(json.dumps({"a": {"b": 1}}), headers={"Content-Type": "application/json"}))
    assert (status, body) == (200, {"payload": {"a": {"b": 1}}, "multipart": False, "parts": {}})


def test_payload_and_file_parts(tmp_path: Path) -> None:
    payload = {"x": {"a": {"type": "file", "part": "one"}, "b": {"type": "file", "part": "two"}}}
    sent = form(("payload", json.dumps(payload), None), ("one", b"first", "a.png"), ("two", b"second", None))
    status, body = serve_and_send(tmp_path, post(sent))
    assert status == 200, body
    assert body["payload"] == payload
    assert body["parts"] == {
        "one": ["first", hashlib.sha256(b"first").hexdigest(), 5, "a.png"],
        "two": ["second", hashlib.sha256(b"second").hexdigest(), 6, "two"],  # aiohttp's FormData names a bytes part after itself
    }


def test_the_payload_part_may_come_last_or_be_a_file(tmp_path: Path) -> None:
    sent = form(("img", b"data", "i.png"), ("payload", json.dumps(REF).encode(), "payload.json"))
    status, body = serve_and_send(tmp_path, post(sent))
    assert (status, body["payload"]) == (200, REF)


def test_no_payload_part_is_an_empty_payload(tmp_path: Path) -> None:
    status, body = serve_and_send(tmp_path, post(form(("payload", "", None))))
    assert (status, body["payload"], body["multipart"]) == (200, {}, True)


@pytest.mark.parametrize(
    ("parts", "status", "type_", "words"),
    [
        pytest.param(
            [("payload", json.dumps(REF), None), ("img", b"x" * (MAX_FILE + 1), "a.png")],
            413,
            "payload_too_large",
            "CONNECT_MAX_FILE_BYTES",
            id="file",
        ),
        pytest.param(
            [PAYLOAD, ("img", b"x" * 900, None), ("b", b"x" * 900, None), ("c", b"x" * 900, None)],
            413,
            "payload_too_large",
            "CONNECT_MAX_BODY_BYTES",
            id="body",
        ),
        pytest.param([("payload", "x" * (MAX_BODY + 1), None)], 413, "payload_too_large", "CONNECT_MAX_BODY_BYTES", id="payload"),
        pytest.param([("payload", "{nope", None)], 400, "invalid_json", "'payload' part is not valid JSON", id="bad-json"),
        pytest.param([("payload", "NaN", None)], 400, "invalid_json", "NaN is not a JSON value", id="nan"),
        pytest.param([("payload", "{}", None), ("payload", "{}", None)], 400, "bad_request", "sent twice", id="two-payloads"),
        pytest.param(
            [("payload", json.dumps(REF), None), ("img", b"a", None), ("img", b"b", None)],
            400,
            "invalid_input_file",
            "sent twice",
            id="two-parts",
        ),
        pytest.param([("payload", "{}", None), ("img", b"a", None)], 400, "invalid_input_file", "'img' is not referred to", id="unused"),
        pytest.param([PAYLOAD], 400, "invalid_input_file", "no file part named 'img'", id="missing"),
    ],
)
def test_refused(tmp_path: Path, parts: list[Any], status: int, type_: str, words: str) -> None:
    got, body = serve_and_send(tmp_path, post(form(*parts)))
    assert (got, body["error"]["type"]) == (status, type_), body
    assert words in body["error"]["message"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n", "needs a name", id="nameless-part"),
        pytest.param(b"garbage without boundaries", "multipart", id="no-boundary-in-body"),
    ],
)
def test_malformed_bodies_are_400(tmp_path: Path, data: bytes, words: str) -> None:
    status, body = serve_and_send(tmp_path, post(data, headers={"Content-Type": "multipart/form-data; boundary=B"}))
    assert status == 400, body
    assert words in body["error"]["message"]


def test_part_references() -> None:
    payload = {
        "a": {"x": {"type": "file", "part": "p"}, "y": {"type": "file", "content": "AA=="}, "z": 3},
        "b": False,
        "c": {"w": {"type": "file", "part": "q"}},
    }
    assert list(part_references(payload)) == [("a.x", "p"), ("c.w", "q")]
    assert list(part_references([1, 2])) == []
