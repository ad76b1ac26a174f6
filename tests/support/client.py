"""The one client the end-to-end tests talk to a server with: the plugin's API and the bits of ComfyUI's own.

Every request goes through `call`, which sends the client's API key (or the one given) as a bearer key.
Requests are independent (no shared session), so threads may share a client.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from launcher import ComfyServer
from PIL import Image

from .images import decode

# Generous: the shared machine may be busy, and a hung server should fail a test, not the suite.
HTTP_TIMEOUT = 120
RUN_TIMEOUT = 180
URL_MEDIA = "application/vnd.comfyui-connect.url+json"
DETAILED_MEDIA = "application/vnd.comfyui-connect.detailed+json"
Json = dict[str, Any]


class _Default:
    """The client's own key (a distinct type, as None means "send no key")."""


DEFAULT = _Default()
Key = str | None | _Default


@dataclass
class Client:
    server: ComfyServer
    key: str | None = None
    # For tests that shape raw requests themselves (If-None-Match, a body that is not JSON, ...).
    http: requests.Session = field(default_factory=requests.Session)

    # -- where things are ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        return self.server.url + "/api/connect"

    def workflow_url(self, name: str) -> str:
        return f"{self.api_url}/workflows/{name}"

    @property
    def base(self) -> Path:
        """ComfyUI's --base-directory."""
        return self.server.base

    @property
    def root(self) -> Path:
        """The folder around the base directory: files no request may reach live there."""
        return self.server.base.parent

    @property
    def input(self) -> Path:
        return self.base / "input"

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def temp(self) -> Path:
        return self.base / "temp"

    @property
    def store(self) -> Path:
        """Where the plugin stores endpoints by default: <ComfyUI user directory>/connect/workflows."""
        return self.base / "user" / "connect" / "workflows"

    @property
    def links(self) -> Path:
        return self.base / "user" / "connect" / "files"

    # -- requests -----------------------------------------------------------------------------------
    def headers(self, key: Key = DEFAULT, headers: dict[str, str] | None = None) -> dict[str, str]:
        sent = dict(headers or {})
        bearer = self.key if isinstance(key, _Default) else key
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        return sent

    def call(
        self,
        method: str,
        path: str,
        key: Key = DEFAULT,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = HTTP_TIMEOUT,
        **kwargs: Any,
    ) -> requests.Response:
        """`method` on this server's `path` (e.g. "/api/connect/workflows/x" or "/queue")."""
        return requests.request(method, self.url + path, json=json_body, headers=self.headers(key, headers), timeout=timeout, **kwargs)

    def raw(self, method: str, path: str, body: bytes | None = None, key: Key = DEFAULT) -> tuple[int, dict[str, str], bytes]:
        """A request whose path is sent byte for byte (requests would normalise '..' and encodings)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=self.headers(key, {"Content-Type": "application/json"}))
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    # -- endpoints ----------------------------------------------------------------------------------
    def save(self, name: str, prompt: Json, workflow: Any = None, key: Key = DEFAULT) -> requests.Response:
        body: Json = {"prompt": prompt}
        if workflow is not None:
            body["workflow"] = workflow
        return self.call("PUT", f"/api/connect/workflows/{name}", key, body)

    def saved(self, name: str, prompt: Json, workflow: Any = None) -> Json:
        response = self.save(name, prompt, workflow)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    def describe(self, name: str) -> requests.Response:
        return self.call("GET", f"/api/connect/workflows/{name}")

    def delete(self, name: str) -> requests.Response:
        return self.call("DELETE", f"/api/connect/workflows/{name}")

    def listing(self) -> Json:
        """GET /api/connect/workflows (not `list`: that name would shadow the builtin in this class's annotations)."""
        response = self.call("GET", "/api/connect/workflows")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def document(self) -> Json:
        response = self.call("GET", "/api/connect/openapi.json")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def object_info(self, class_type: str) -> Json:
        response = self.call("GET", f"/object_info/{class_type}")
        assert response.status_code == 200, response.text
        return dict(response.json()[class_type])

    # -- runs ---------------------------------------------------------------------------------------
    def run(
        self,
        name: str,
        payload: Any = None,
        key: Key = DEFAULT,
        *,
        params: dict[str, Any] | None = None,
        output: str | None = None,
        accept: str | None = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = RUN_TIMEOUT,
        **kwargs: Any,
    ) -> requests.Response:
        """POST a run. `params` go in the query (`output` too); with `files` the body is multipart and
        the payload travels as its own part."""
        query = {**(params or {}), **({"output": output} if output else {})}
        sent = {**(headers or {}), **({"Accept": accept} if accept else {})}
        path = f"/api/connect/workflows/{name}"
        body = payload if payload is not None else {}
        if files is not None:
            parts = {"payload": (None, json.dumps(body), "application/json"), **files}
            return self.call("POST", path, key, None, sent, timeout, params=query or None, files=parts, **kwargs)
        return self.call("POST", path, key, body, sent, timeout, params=query or None, **kwargs)

    def run_ok(self, name: str, payload: Any = None) -> dict[str, list[Image.Image]]:
        response = self.run(name, payload)
        assert response.status_code == 200, response.text
        return {key: [decode(item) for item in files] for key, files in response.json().items()}

    # -- jobs ---------------------------------------------------------------------------------------
    def start(self, name: str, payload: Any = None, params: dict[str, Any] | None = None, **kwargs: Any) -> Json:
        """Start an asynchronous run: its job."""
        response = self.run(name, payload, params={**(params or {}), "async": "1"}, **kwargs)
        assert response.status_code == 202, response.text
        return dict(response.json())

    def job(self, job_id: str) -> Json:
        response = self.call("GET", f"/api/connect/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def until(self, job_id: str, done: Callable[[Json], bool], what: str, timeout: float = 60) -> Json:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if done(job):
                return job
            assert time.monotonic() < deadline, f"job {job_id} never became {what}: {job}"
            time.sleep(0.05)

    def finished(self, job_id: str, timeout: float = 60) -> Json:
        return self.until(job_id, lambda j: j["status"] in ("succeeded", "failed", "cancelled"), "finished", timeout)

    def running(self, job_id: str) -> Json:
        return self.until(job_id, lambda j: j["status"] == "running", "running")

    def until_listed(self, workflow: str, status: str, timeout: float = 60) -> Json:
        """The newest job of `workflow` once one has `status` (for callers that never got its id)."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.call("GET", "/api/connect/jobs", params={"workflow": workflow, "status": status}).json()["jobs"]
            if listed:
                return dict(listed[0])
            assert time.monotonic() < deadline, f"no {status} job of {workflow}"
            time.sleep(0.05)

    # -- ComfyUI's own API --------------------------------------------------------------------------
    def queue(self) -> Json:
        return dict(self.call("GET", "/queue").json())

    def queue_depth(self) -> int:
        queue = self.queue()
        return len(queue["queue_running"]) + len(queue["queue_pending"])

    def wait_idle(self, timeout: float = 60) -> None:
        wait_until(lambda: self.queue_depth() == 0, timeout, "ComfyUI's queue emptied")

    def clear(self) -> None:
        """Drop what is queued and interrupt what runs (a test's leftovers), then wait for the queue to empty."""
        self.call("POST", "/queue", json_body={"clear": True})
        self.call("POST", "/interrupt", json_body={})
        self.wait_idle()

    def running_prompt(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            running = self.queue()["queue_running"]
            if running:
                return str(running[0][1])
            assert time.monotonic() < deadline, "no prompt started running"
            time.sleep(0.02)

    def history(self, prompt_id: str, wait: float = 60) -> Json:
        """ComfyUI's record of a prompt; waits for it to be written (a cancelled run ends a moment later)."""
        deadline = time.monotonic() + wait
        while True:
            entry = self.call("GET", f"/history/{prompt_id}").json().get(prompt_id)
            if entry:
                return dict(entry)
            assert time.monotonic() < deadline, f"prompt {prompt_id} never reached ComfyUI's history"
            time.sleep(0.05)

    def history_size(self) -> int:
        return len(self.call("GET", "/history").json())

    def native_run(self, prompt: Json) -> Json:
        """Run a prompt through ComfyUI's own `POST /prompt`, as its UI does, and return its history entry."""
        response = self.call("POST", "/prompt", json_body={"prompt": prompt, "client_id": "e2e-tests"})
        assert response.status_code == 200, response.text
        return self.history(response.json()["prompt_id"])


def cached_nodes(history: Json) -> list[str]:
    """The node ids ComfyUI reported in the `execution_cached` message of a run."""
    for event, data in history["status"]["messages"]:
        if event == "execution_cached":
            return list(data["nodes"])
    raise AssertionError(f"no execution_cached message in {history['status']}")


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `condition` until it is true; fail the test if it is not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.05)
