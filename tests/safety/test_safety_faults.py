"""Faults during a run: each answered clearly, then a normal call works, the store is intact, nothing leaks."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.client import Client
from support.disk import hashes
from support.errors import assert_error
from support.images import first_pixel
from support.metrics import without_instance
from support.suites import ADMIN, slow_payload

pytestmark = pytest.mark.e2e


@dataclass
class Before:
    store: dict[str, str]
    outputs: list[str]
    inputs: list[str]


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def survives(idle: Client) -> Iterator[Callable[[], None]]:
    """Yields a check to call after the fault: nothing leaked, the queue drained, a normal run works."""
    safe = idle
    before = Before(hashes(safe.store), _files(safe.base / "output"), _files(safe.base / "input"))

    def check() -> None:
        safe.wait_idle()
        assert hashes(safe.store) == before.store, "a saved endpoint changed"
        assert _files(safe.base / "output") == before.outputs, "a failed run left output files"
        assert _files(safe.base / "input") == before.inputs, "a failed run left input files"
        assert not list(safe.base.rglob("*.tmp")), "a temp file was left behind"
        assert safe.call("GET", "/api/connect/workflows").json()["errors"] == {}
        response = safe.run("safe-invert", {"canvas": {"color": 0x102030}})
        assert response.status_code == 200, response.text
        assert first_pixel(response.json()["out"][0]) == (0xEF, 0xDF, 0xCF)
        assert safe.call("GET", "/api/connect/ready", key=None).status_code == 200

    yield check


def test_a_node_that_raises(safe: Client, survives: Callable[[], None]) -> None:
    error = assert_error(safe.run("safe-raise", {"raise": {"message": "kaput"}}), 500, "execution_failed")
    assert error["details"]["node_id"] == "2" and error["details"]["title"] == "Raise $raise"
    assert error["details"]["exception_type"] == "RuntimeError"
    assert "kaput" in error["message"]
    survives()


@pytest.mark.parametrize(
    ("kind", "exception_type"),
    [pytest.param("cuda", "torch.OutOfMemoryError", id="cuda-oom"), pytest.param("memory", "MemoryError", id="memory-error")],
)
def test_an_out_of_memory_failure(safe: Client, survives: Callable[[], None], kind: str, exception_type: str) -> None:
    error = assert_error(safe.run("safe-oom", {"oom": {"kind": kind}}), 500, "execution_failed")
    assert error["details"]["exception_type"] == exception_type
    if kind == "cuda":  # ComfyUI recognises it as OOM: it unloads the models and says so
        assert "ran out of memory" in error["details"]["exception_message"]
    survives()


def test_a_run_past_its_timeout_is_cancelled(safe: Client, survives: Callable[[], None]) -> None:
    response = safe.call("POST", "/api/connect/workflows/safe-slow?timeout=1", json_body=slow_payload(60))
    error = assert_error(response, 504, "timeout")
    history = safe.history(error["details"]["prompt_id"])
    assert history["status"]["status_str"] == "error"
    assert "execution_interrupted" in [event for event, _ in history["status"]["messages"]]
    survives()


def test_a_client_that_disconnects_mid_run_cancels_it(safe: Client, survives: Callable[[], None]) -> None:
    body = json.dumps(slow_payload(60)).encode()
    head = (
        "POST /api/connect/workflows/safe-slow HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{safe.server.port}\r\nAuthorization: Bearer {ADMIN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", safe.server.port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        prompt_id = safe.running_prompt()
    history = safe.history(prompt_id)  # answered long before the node's 60 s are over
    assert "execution_interrupted" in [event for event, _ in history["status"]["messages"]]
    assert 'connect_errors_total{type="client_disconnected"}' in without_instance(safe.call("GET", "/api/connect/metrics").text)
    survives()


def test_metrics_count_requests_errors_and_queue_times(safe: Client) -> None:
    assert safe.run("safe-invert").status_code == 200
    assert safe.run("safe-raise").status_code == 500
    text = safe.call("GET", "/api/connect/metrics").text
    assert 'connect_prompt_worker_alive{instance="' in text  # every series names its instance (host:port here)
    samples = _samples(without_instance(text))
    assert samples['connect_http_requests_total{method="POST",route="/connect/workflows/{name}",status="200"}'] >= 1
    assert samples['connect_errors_total{type="execution_failed"}'] >= 1
    assert samples['connect_prompts_total{status="success"}'] >= 1
    assert samples["connect_prompt_queue_wait_seconds_count"] >= 1
    assert samples["connect_prompt_execution_seconds_count"] >= 1
    assert samples["connect_prompt_worker_alive"] == 1.0
    assert "# TYPE connect_http_request_duration_seconds histogram" in text


def _samples(text: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}
