"""Helpers of the jobs tests: the server's settings, its workflows, a client, and a webhook receiver.

The session server (conftest.py) is one real ComfyUI with the test node pack, signed webhooks, a 3 s
sync wait budget and 127.0.0.1 allowed for webhooks. The receiver is a local HTTP server that records
every delivery and answers with scripted statuses.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from launcher import REPO, ComfyServer

TEST_NODES = REPO / "tests" / "nodes" / "connect_test_nodes"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"connect-jobs-test-secret-0123456789").decode()
SYNC_WAIT = 3.0
ENV = {
    "CONNECT_SYNC_WAIT": str(SYNC_WAIT),
    "CONNECT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "CONNECT_WEBHOOK_BACKOFF": "0.2",
    "CONNECT_WEBHOOK_ATTEMPTS": "3",
    "CONNECT_URL_ALLOW_NETWORKS": "127.0.0.1/32",
    "CONNECT_SSE_HEARTBEAT": "1",
    "CONNECT_RUN_TIMEOUT": "120",
}


def node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def steps_workflow() -> dict[str, Any]:
    """EmptyImage -> Steps (progress) -> Invert -> SaveImage #out: four nodes, one reporting steps."""
    return {
        "1": node("EmptyImage", "Canvas $canvas(color)", width=8, height=8, batch_size=1, color=0),
        "2": node("ConnectTestSteps", "Steps $steps", image=["1", 0], steps=3, seconds=0.05),
        "3": node("ImageInvert", "Invert", image=["2", 0]),
        "4": node("SaveImage", "Save #out", images=["3", 0], filename_prefix="jobs"),
    }


def slow_workflow() -> dict[str, Any]:
    """EmptyImage -> Slow -> SaveImage #out (the slow node re-runs every time)."""
    return {
        "1": node("EmptyImage", "Canvas $canvas(color)", width=8, height=8, batch_size=1, color=0),
        "2": node("ConnectTestSlow", "Slow $slow", image=["1", 0], seconds=0.0),
        "3": node("SaveImage", "Save #out", images=["2", 0], filename_prefix="jobs-slow"),
    }


WORKFLOWS = {"steps": steps_workflow(), "slow": slow_workflow()}


@dataclass
class Jobs:
    server: ComfyServer
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def api(self) -> str:
        return self.server.url + "/api/connect"

    def run(self, name: str, body: Any = None, params: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 120)
        return self.http.post(f"{self.api}/workflows/{name}", json=body if body is not None else {}, params=params, **kwargs)

    def start(self, name: str, body: Any = None, params: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.run(name, body, {**(params or {}), "async": "1"}, **kwargs)
        assert response.status_code == 202, response.text
        job: dict[str, Any] = response.json()
        return job

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"{self.api}/jobs/{job_id}", timeout=30)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def until(self, job_id: str, done: Callable[[dict[str, Any]], bool], what: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if done(job):
                return job
            assert time.monotonic() < deadline, f"job {job_id} never became {what}: {job}"
            time.sleep(0.05)

    def finished(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        return self.until(job_id, lambda j: j["status"] in ("succeeded", "failed", "cancelled"), "finished", timeout)

    def running(self, job_id: str) -> dict[str, Any]:
        return self.until(job_id, lambda j: j["status"] == "running", "running")

    def until_listed(self, workflow: str, status: str, timeout: float = 60) -> dict[str, Any]:
        """The newest job of `workflow` once one has `status` (for callers that never got its id)."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.http.get(f"{self.api}/jobs", params={"workflow": workflow, "status": status}, timeout=30).json()["jobs"]
            if listed:
                return dict(listed[0])
            assert time.monotonic() < deadline, f"no {status} job of {workflow}"
            time.sleep(0.05)

    def queue(self) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(self.server.url + "/queue", timeout=30).json()
        return body

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            queue = self.queue()
            if not queue["queue_running"] and not queue["queue_pending"]:
                return
            assert time.monotonic() < deadline, f"ComfyUI's queue did not empty: {queue}"
            time.sleep(0.05)

    def history(self, prompt_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            entry = self.http.get(f"{self.server.url}/history/{prompt_id}", timeout=30).json().get(prompt_id)
            if entry:
                return dict(entry)
            assert time.monotonic() < deadline, f"prompt {prompt_id} never finished"
            time.sleep(0.05)


# -- a webhook receiver ---------------------------------------------------------------------------------
@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Records every POST; answers each with the next status of `script` (then 204)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.script: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = receiver.script.pop(0) if receiver.script else 204
                    receiver.deliveries.append(Delivery(dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 30) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            assert time.monotonic() < deadline, f"{len(self.deliveries)} webhook deliveries, expected {count}"
            time.sleep(0.02)
        return list(self.deliveries)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
