"""Every limit answers with its status and the one error shape (limits are set low in support/suites.py, LIMITS)."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import requests
from support.client import Client
from support.errors import assert_error
from support.filehost import FileHost
from support.images import b64, png
from support.metrics import without_instance
from support.suites import ADMIN, MANAGER, QUEUER, RUNNER, slow_payload

pytestmark = pytest.mark.e2e


def test_a_body_over_the_limit_is_413_before_it_is_read(safe: Client) -> None:
    body = b'{"canvas": {"color": 1}, "pad": "' + b"x" * 600_000 + b'"}'
    response = safe.call("POST", "/api/connect/workflows/safe-invert", data=body, headers={"Content-Type": "application/json"})
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"]["limit"] == 500_000


def test_a_chunked_body_over_the_limit_is_413(safe: Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": {}, "pad": "'
        for _ in range(70):
            yield b"x" * 10_000
        yield b'"}'

    response = safe.call("PUT", "/api/connect/workflows/safe-big", data=chunks(), headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")
    assert not (safe.store / "safe-big.json").exists()


def test_a_file_over_the_limit_is_413(safe: Client) -> None:
    payload = {"load": {"image": {"type": "file", "content": b64(b"\0" * 300_001), "name": "x.png"}}}
    error = assert_error(safe.run("safe-load", payload), 413, "payload_too_large")
    assert error["details"]["path"] == "load.image"


@pytest.mark.parametrize("path", ["/big.png", "/big-unsized.png"])
def test_a_url_file_over_the_limit_is_413(safe: Client, files_host: FileHost, path: str) -> None:
    payload = {"load": {"image": {"type": "file", "url": files_host.url(path)}}}
    assert_error(safe.run("safe-load", payload), 413, "payload_too_large")


def test_a_url_slower_than_the_fetch_timeout_is_refused(safe: Client, files_host: FileHost) -> None:
    payload = {"load": {"image": {"type": "file", "url": files_host.url("/slow.png")}}}
    error = assert_error(safe.run("safe-load", payload), 400, "invalid_input_file")
    assert "TimeoutError" in error["message"]


def _png_header(width: int, height: int) -> bytes:
    """A PNG that announces width x height but carries one row: the shape of a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "width", "height"),
    [
        pytest.param(png(size=(1001, 1000)), 1001, 1000, id="just-over"),
        pytest.param(_png_header(1200, 1000), 1200, 1000, id="header-only"),
        pytest.param(_png_header(20_000, 20_000), None, None, id="bomb-400-megapixels"),
        pytest.param(_png_header(100_000, 100_000), None, None, id="bomb-10-gigapixels"),
    ],
)
def test_an_image_over_the_pixel_limit_is_413(safe: Client, data: bytes, width: int | None, height: int | None) -> None:
    payload = {"load": {"image": {"type": "file", "content": b64(data), "name": "big.png"}}}
    before = sorted(p.name for p in (safe.base / "input").iterdir())
    error = assert_error(safe.run("safe-load", payload), 413, "payload_too_large")
    announced = struct.unpack(">II", data[16:24])
    assert error["details"]["pixels"] == announced[0] * announced[1] and error["details"]["limit"] == 1_000_000
    assert (error["details"]["width"], error["details"]["height"]) == (width, height)  # Pillow's own guard gives no size
    assert sorted(p.name for p in (safe.base / "input").iterdir()) == before  # never stored


def test_an_image_at_the_pixel_limit_runs(safe: Client) -> None:
    payload = {"load": {"image": {"type": "file", "content": b64(png(size=(1000, 1000))), "name": "ok.png"}}}
    response = safe.run("safe-load", payload)
    assert response.status_code == 200, response.text


def test_a_batch_over_the_limit_is_400(safe: Client) -> None:
    error = assert_error(safe.run("safe-invert", {"canvas": {"batch_size": 5}}), 400, "limit_exceeded")
    assert error["details"] == {"path": "canvas.batch_size", "value": 5, "limit": 4}
    response = safe.run("safe-invert", {"canvas": {"batch_size": 4}})
    assert response.status_code == 200
    assert len(response.json()["out"]) == 4


def test_queue_depth_per_client_429_overall_503_ready_503_and_a_cleared_queue_answers_409(idle: Client) -> None:
    safe = idle
    with ThreadPoolExecutor(4) as pool:
        waiting: list[Future[requests.Response]] = []
        for i in range(2):
            waiting.append(pool.submit(safe.run, "safe-slow", slow_payload(60, i), QUEUER))
        _wait_depth(safe, 2)
        mine = safe.run("safe-slow", slow_payload(60, 9), QUEUER)
        error = assert_error(mine, 429, "too_many_requests")
        assert error["details"]["limit"] == 2 and int(mine.headers["Retry-After"]) >= 1

        for i in range(2):
            waiting.append(pool.submit(safe.run, "safe-slow", slow_payload(60, 10 + i), RUNNER))
        _wait_depth(safe, 4)
        full = safe.run("safe-invert", {}, MANAGER)
        error = assert_error(full, 503, "unavailable")
        assert error["details"]["queue_depth"] == 4 and int(full.headers["Retry-After"]) >= 1

        ready = safe.call("GET", "/api/connect/ready", key=None)
        error = assert_error(ready, 503, "unavailable")
        assert error["details"]["queue_depth"] == 4 and error["details"]["threshold"] == 2
        assert error["details"]["worker_alive"] is True and "Retry-After" in ready.headers
        assert "connect_runs_in_flight 4.0" in without_instance(safe.call("GET", "/api/connect/metrics", ADMIN).text)

        # Emptied from ComfyUI's side (its UI's "clear queue" and "cancel"): every caller is answered.
        assert safe.call("POST", "/queue", ADMIN, {"clear": True}).status_code == 200
        assert safe.call("POST", "/interrupt", ADMIN, {}).status_code == 200
        for future in waiting:
            assert_error(future.result(timeout=30), 409, "interrupted")
    safe.wait_idle()
    assert safe.call("GET", "/api/connect/ready", key=None).status_code == 200
    assert safe.run("safe-invert", {}, QUEUER).status_code == 200


def _wait_depth(safe: Client, depth: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while safe.queue_depth() < depth:
        assert time.monotonic() < deadline, f"the queue never reached {depth}"
        time.sleep(0.02)
