"""Hostile bodies, headers and query strings against the plugin's routes, in-process (support.httpstate):
every failure to read or parse what was sent is a 400 (413 when too large) in the one error shape,
never a 500, and nothing reaches the engine. tests/safety/test_safety_hostile.py sends the nastiest
of these to a real ComfyUI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.httpstate import MAX_BODY, make_connect, raw_request, serving

RUN, SAVE, LOGIN = "POST /connect/workflows/canvas", "PUT /connect/workflows/w", "POST /connect/login"
MP = "multipart/form-data; boundary=zz"
FORM = "application/x-www-form-urlencoded"


def part(headers: str, body: bytes) -> bytes:
    return b"--zz\r\n" + headers.encode() + b"\r\n\r\n" + body + b"\r\n--zz--\r\n"


PAYLOAD_PART = 'Content-Disposition: form-data; name="payload"'
CUT_SHORT = b"--zz\r\n" + PAYLOAD_PART.encode() + b"\r\n\r\n{}"  # no closing boundary
CASES = [
    # JSON bodies
    pytest.param(SAVE, {}, b"", 400, "invalid_json", id="json-empty"),
    pytest.param(SAVE, {}, b"{", 400, "invalid_json", id="json-truncated"),
    pytest.param(SAVE, {}, b"[" * 15_000, 400, "invalid_json", id="json-too-deep"),
    pytest.param(RUN, {}, b'{"a":' * 3_000, 400, "invalid_json", id="json-too-deep-objects"),
    pytest.param(SAVE, {}, b'{"prompt": "\xff"}', 400, "invalid_json", id="json-invalid-utf8"),
    pytest.param(SAVE, {}, b'{"prompt": {"1": {"class_type": "\\ud800"}}}', 400, "invalid_json", id="json-lone-surrogate"),
    pytest.param(RUN, {}, b'{"canvas": {"width": "\\udfff"}}', 400, "invalid_json", id="json-lone-low-surrogate"),
    pytest.param(RUN, {}, '{"canvas": {"width": "\\ud800"}}'.encode("utf-16"), 400, "invalid_json", id="json-utf16-surrogate"),
    pytest.param(RUN, {}, b'{"canvas": {"width": NaN}}', 400, "invalid_json", id="json-nan"),
    pytest.param(RUN, {}, b'{"canvas": {"width": 1e999}}', 400, "invalid_json", id="json-huge-float"),
    pytest.param(RUN, {}, b'{"canvas": {"width": ' + b"9" * 5000 + b"}}", 400, "invalid_json", id="json-huge-int"),
    pytest.param(SAVE, {}, b'{"prompt": {}, "timeout": "soon"}', 400, "bad_request", id="json-timeout-text"),
    pytest.param(SAVE, {}, b"[1, 2]", 400, "bad_request", id="json-not-an-object"),
    pytest.param(SAVE, {"Content-Encoding": "gzip"}, b"not gzip", 400, "bad_request", id="gzip-not-gzip"),
    pytest.param(SAVE, {"Content-Encoding": "deflate"}, b"not deflate", 400, "bad_request", id="deflate-not-deflate"),
    pytest.param(SAVE, {"Content-Type": "text/plain; charset=nope"}, b"{", 400, "invalid_json", id="unknown-charset-json"),
    # multipart run bodies
    pytest.param(RUN, {"Content-Type": "multipart/form-data"}, b"x", 400, "bad_request", id="multipart-no-boundary"),
    pytest.param(RUN, {"Content-Type": 'multipart/form-data; boundary=""'}, b"x", 400, "bad_request", id="multipart-empty-boundary"),
    pytest.param(
        RUN, {"Content-Type": "multipart/form-data; boundary=" + "z" * 200}, b"x", 400, "bad_request", id="multipart-long-boundary"
    ),
    pytest.param(RUN, {"Content-Type": MP}, b"garbage", 400, "bad_request", id="multipart-no-parts"),
    pytest.param(RUN, {"Content-Type": MP}, part("no colon here", b"x"), 400, "bad_request", id="multipart-part-header-no-colon"),
    pytest.param(RUN, {"Content-Type": MP}, part("X: " + "a" * 9000, b"x"), 400, "bad_request", id="multipart-part-header-too-long"),
    pytest.param(RUN, {"Content-Type": MP}, part('Content-Disposition: ;;;="', b"{}"), 400, "bad_request", id="multipart-bad-disposition"),
    pytest.param(
        RUN, {"Content-Type": MP}, b"--zz\r\n" + PAYLOAD_PART.encode() + b"\r\n\r\n{}", 400, "bad_request", id="multipart-cut-short"
    ),
    pytest.param(RUN, {"Content-Type": MP}, part(PAYLOAD_PART, b"{bad"), 400, "invalid_json", id="multipart-payload-not-json"),
    pytest.param(RUN, {"Content-Type": MP}, part(PAYLOAD_PART, b"[" * 15_000), 400, "invalid_json", id="multipart-payload-too-deep"),
    pytest.param(
        RUN,
        {"Content-Type": MP},
        part('Content-Type: multipart/mixed\r\nContent-Disposition: form-data; name="a"', b"x"),
        400,
        "bad_request",
        id="multipart-nested-without-boundary",
    ),
    # query strings and headers of a run
    *(
        pytest.param(RUN + "?timeout=" + value, {}, b"{}", 400, "bad_request", id=f"timeout-{label}")
        for label, value in {"nan": "nan", "inf": "inf", "negative": "-1", "huge": "9" * 5000, "text": "soon"}.items()
    ),
    *(
        pytest.param(RUN, {"Prefer": prefer}, b"{}", 400, "bad_request", id=f"prefer-{label}")
        for label, prefer in {"nan": "wait=nan", "huge": "wait=1e999", "empty": "wait", "text": "wait=soon"}.items()
    ),
    pytest.param(RUN, {"Idempotency-Key": "k" * 256}, b"{}", 400, "bad_request", id="idempotency-key-too-long"),
    *(
        pytest.param(RUN + "?webhook=" + url, {}, b"{}", 400, "bad_request", id=f"webhook-{label}")
        for label, url in {
            "nul": "http://exa%00mple.com/",
            "bracket": "http://%5B::1",
            "port": "http://example.com:99999/",
            "ftp": "ftp://x/",
        }.items()
    ),
    pytest.param(RUN + "?output=zip", {}, b"{}", 400, "bad_request", id="output-unknown"),
    pytest.param(RUN + "?async=maybe", {}, b"{}", 400, "bad_request", id="async-maybe"),
    pytest.param("POST /connect/workflows/%FF", {}, b"{}", 400, "invalid_name", id="name-invalid-utf8"),
    pytest.param("PUT /connect/workflows/a%00b", {}, b"{}", 400, "invalid_name", id="name-nul"),
    pytest.param("GET /connect/jobs?limit=" + "9" * 5000, {}, b"", 400, "bad_request", id="jobs-limit-huge"),
    pytest.param("GET /connect/jobs?status=%FF", {}, b"", 400, "bad_request", id="jobs-status-invalid-utf8"),
    # the login form
    pytest.param(LOGIN, {"Content-Type": FORM}, b"key=\xff\xfe", 400, "bad_request", id="login-invalid-utf8"),
    pytest.param(LOGIN, {"Content-Type": FORM + "; charset=nope"}, b"key=a", 400, "bad_request", id="login-unknown-charset"),
    pytest.param(LOGIN, {"Content-Type": "multipart/form-data"}, b"key=a", 400, "bad_request", id="login-multipart-no-boundary"),
    pytest.param(LOGIN, {"Content-Type": MP}, part("no colon here", b"x"), 400, "bad_request", id="login-multipart-bad-part-header"),
    pytest.param(
        LOGIN,
        {"Content-Type": MP},
        part('Content-Disposition: form-data; name="key"\r\nContent-Type: text/plain; charset=nope', b"x"),
        400,
        "bad_request",
        id="login-multipart-unknown-charset",
    ),
    pytest.param(
        LOGIN,
        {"Content-Type": MP},
        b'--zz\r\nContent-Disposition: form-data; name="key"\r\n\r\nabc',
        400,
        "bad_request",
        id="login-multipart-cut-short",
    ),
    # too large
    pytest.param(SAVE, {}, b" " * (MAX_BODY + 1), 413, "payload_too_large", id="body-over-the-cap"),
    pytest.param(LOGIN, {"Content-Type": FORM}, b"key=" + b"a" * MAX_BODY, 413, "payload_too_large", id="login-over-the-cap"),
]


def send(root: Path, line: str, headers: dict[str, str], body: bytes, *, chunked: bool = False) -> tuple[int, bytes, Any]:
    connect = make_connect(root)
    method, target = line.split(" ", 1)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = "\r\n".join(
        [f"{method} {target} HTTP/1.1", "Host: test", "Connection: close", framing, *(f"{k}: {v}" for k, v in headers.items())]
    )
    sent = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n" if chunked else body

    async def main() -> tuple[int, bytes]:
        async with serving(connect) as server:
            return await raw_request(server, head.encode(), sent)

    status, answer = asyncio.run(main())
    return status, answer, connect


def assert_shape(status: int, body: bytes, expected: int, type_: str) -> dict[str, Any]:
    error = json.loads(body)
    assert status == expected, error
    assert set(error) == {"error"} and set(error["error"]) == {"type", "message", "details"}, error
    assert error["error"]["type"] == type_, error
    return dict(error["error"])


@pytest.mark.parametrize(("line", "headers", "body", "status", "type_"), CASES)
def test_a_hostile_request_is_refused_in_the_error_shape(
    tmp_path: Path, line: str, headers: dict[str, str], body: bytes, status: int, type_: str
) -> None:
    answered, answer, connect = send(tmp_path, line, headers, body)
    assert_shape(answered, answer, status, type_)
    assert connect.jobs.started == []  # nothing reached the engine
    assert not list((tmp_path / "workflows").glob("w.json"))  # nor the store


def test_a_chunked_body_over_the_cap_is_413(tmp_path: Path) -> None:
    status, answer, _ = send(tmp_path, SAVE, {}, b" " * (MAX_BODY + 1), chunked=True)  # no Content-Length to refuse it early
    assert_shape(status, answer, 413, "payload_too_large")


def test_a_well_formed_run_reaches_the_engine(tmp_path: Path) -> None:
    """The control for the table: the same routes accept what is right (the fake engine then says 503)."""
    status, answer, connect = send(tmp_path, RUN + "?timeout=5", {"Prefer": "wait=1"}, b'{"canvas": {"width": 16}}')
    assert_shape(status, answer, 503, "unavailable")
    assert len(connect.jobs.started) == 1
    status, answer, connect = send(tmp_path, RUN, {"Content-Type": MP}, part(PAYLOAD_PART, b'{"canvas": {"width": 16}}'))
    assert_shape(status, answer, 503, "unavailable")
    assert len(connect.jobs.started) == 1


CONTENT_TYPES = ["application/json", MP, "multipart/form-data", FORM, "text/plain; charset=nope", "application/json; charset=utf-16"]
JSONISH = st.one_of(
    st.binary(max_size=300),
    st.integers(2_000, MAX_BODY // 2).map(lambda depth: b"[" * depth),  # deeper than the parser goes
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20), lambda c: st.lists(c, max_size=4), max_leaves=20
    ).map(lambda v: json.dumps({"canvas": {"width": v}}).encode()),
    st.text(alphabet='[]{}":,\\ud80x0 eE9.-+', max_size=300).map(str.encode),
    st.lists(st.binary(max_size=40), max_size=4).map(lambda parts: b"".join(part(f"X{i}: y", p) for i, p in enumerate(parts))),
)


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.sampled_from([RUN, SAVE, LOGIN]), content_type=st.sampled_from(CONTENT_TYPES), body=JSONISH)
def test_no_body_is_a_500(tmp_path: Path, line: str, content_type: str, body: bytes) -> None:
    status, answer, _ = send(tmp_path, line, {"Content-Type": content_type}, body)
    assert status < 500 or status == 503, answer  # 503: the fake engine was reached
    if status >= 400 and line != LOGIN:  # the login form answers a wrong key with its page
        error = json.loads(answer)
        assert set(error["error"]) == {"type", "message", "details"}, error
