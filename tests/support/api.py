"""A thin client for the plugin's HTTP API (and the bits of ComfyUI's own API the tests read)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from launcher import ComfyServer
from PIL import Image

from .images import decode

Prompt = dict[str, dict[str, Any]]
# Generous: the shared machine may be busy, and a hung server should fail a test, not the suite.
HTTP_TIMEOUT = 120


def node(class_type: str, title: str = "", **inputs: Any) -> dict[str, Any]:
    """One API-format node, as `app.graphToPrompt().output` writes it."""
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def link(node_id: str, slot: int = 0) -> list[Any]:
    return [node_id, slot]


@dataclass
class Api:
    server: ComfyServer

    @property
    def url(self) -> str:
        return str(self.server.url)

    def workflow_url(self, name: str) -> str:
        return f"{self.url}/api/connect/workflows/{name}"

    def save(self, name: str, prompt: Prompt, workflow: Any = None) -> requests.Response:
        body: dict[str, Any] = {"prompt": prompt}
        if workflow is not None:
            body["workflow"] = workflow
        return requests.put(self.workflow_url(name), json=body, timeout=HTTP_TIMEOUT)

    def saved(self, name: str, prompt: Prompt) -> dict[str, Any]:
        response = self.save(name, prompt)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    def run(self, name: str, payload: Any = None, **params: Any) -> requests.Response:
        return requests.post(self.workflow_url(name), json=payload if payload is not None else {}, params=params, timeout=HTTP_TIMEOUT)

    def run_ok(self, name: str, payload: Any = None) -> dict[str, list[Image.Image]]:
        response = self.run(name, payload)
        assert response.status_code == 200, response.text
        return {key: [decode(item) for item in files] for key, files in response.json().items()}

    def describe(self, name: str) -> requests.Response:
        return requests.get(self.workflow_url(name), timeout=HTTP_TIMEOUT)

    def delete(self, name: str) -> requests.Response:
        return requests.delete(self.workflow_url(name), timeout=HTTP_TIMEOUT)

    def list(self) -> dict[str, Any]:
        response = requests.get(f"{self.url}/api/connect/workflows", timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def history(self, prompt_id: str, wait: float = 60.0) -> dict[str, Any]:
        """ComfyUI's own record of a prompt; waits for it to be written (a cancelled run ends a moment later)."""
        deadline = time.monotonic() + wait
        while True:
            found = requests.get(f"{self.url}/history/{prompt_id}", timeout=HTTP_TIMEOUT).json()
            if prompt_id in found:
                return dict(found[prompt_id])
            assert time.monotonic() < deadline, f"prompt {prompt_id} never reached ComfyUI's history"
            time.sleep(0.1)

    def native_run(self, prompt: Prompt) -> dict[str, Any]:
        """Run a prompt through ComfyUI's own `POST /prompt`, as its UI does, and return its history entry."""
        response = requests.post(f"{self.url}/prompt", json={"prompt": prompt, "client_id": "e2e-tests"}, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text
        return self.history(response.json()["prompt_id"])


def error_of(response: requests.Response, status: int, type_: str) -> dict[str, Any]:
    """The `error` object of a response, after checking its status and the one JSON error shape."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"type", "message", "details"}, error
    assert error["type"] == type_, error
    assert isinstance(error["message"], str) and error["message"], error
    return dict(error)


def cached_nodes(history: dict[str, Any]) -> list[str]:
    """The node ids ComfyUI reported in the `execution_cached` message of a run."""
    for event, data in history["status"]["messages"]:
        if event == "execution_cached":
            return list(data["nodes"])
    raise AssertionError(f"no execution_cached message in {history['status']}")
