"""Helpers of the "safe to expose" tests: keys, limits, workflows, a client, disk snapshots.

The session server (conftest.py) is one real ComfyUI with API keys, every limit set low, the test node pack:

    root/base/       ComfyUI's --base-directory (the plugin's store is base/user/connect/workflows)
    root/outside/    files that no request may read, change or create anything next to
    root/keys.txt    the CONNECT_API_KEYS_FILE
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import http.server
import io
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from launcher import REPO, ComfyServer
from PIL import Image

TEST_NODES = REPO / "tests" / "nodes" / "connect_test_nodes"
ADMIN = "admin-key-0123456789abcdef"
FILE_ADMIN = "file-admin-key-0123456789abcdef"
MANAGER = "manager-key-0123456789abcdef"
RUNNER = "runner-key-0123456789abcdef"
QUEUER = "queuer-key-0123456789abcdef"
KEYS_ENV = f"{ADMIN}, {MANAGER} manage team/* safe-*, {RUNNER} run safe-* team/open, {QUEUER} run safe-*"
KEYS_FILE = f"""# keys for the safety tests
{FILE_ADMIN}   # an admin key from the file
"""
LIMITS = {
    "CONNECT_MAX_FILE_BYTES": "300000",
    "CONNECT_MAX_BODY_BYTES": "500000",
    "CONNECT_MAX_IMAGE_PIXELS": "1000000",
    "CONNECT_MAX_BATCH": "4",
    "CONNECT_MAX_QUEUE": "4",
    "CONNECT_MAX_QUEUE_PER_CLIENT": "2",
    "CONNECT_READY_MAX_QUEUE": "2",
    "CONNECT_URL_TIMEOUT": "2",
    "CONNECT_URL_ALLOW_NETWORKS": "127.0.0.2/32",
    "CONNECT_RUN_TIMEOUT": "60",
}
CORS_ORIGIN = "https://app.example"


# -- workflows -----------------------------------------------------------------------------------
def chain(middle: dict[str, Any] | None = None, canvas_title: str = "Canvas $canvas(width,height,color,batch_size)") -> dict[str, Any]:
    """EmptyImage -> [middle node] -> SaveImage #out, as an API-format prompt."""
    prompt: dict[str, Any] = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
            "_meta": {"title": canvas_title},
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "safety"}, "_meta": {"title": "Save #out"}},
    }
    if middle is not None:
        prompt["2"] = {**middle, "inputs": {"image": ["1", 0], **middle["inputs"]}}
        prompt["3"]["inputs"]["images"] = ["2", 0]
    return prompt


def node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


WORKFLOWS: dict[str, dict[str, Any]] = {
    "safe-invert": chain(node("ImageInvert", "Invert")),
    "safe-slow": chain(node("ConnectTestSlow", "Slow $slow", seconds=0.0)),
    "safe-raise": chain(node("ConnectTestRaise", "Raise $raise", message="boom")),
    "safe-oom": chain(node("ConnectTestOOM", "OOM $oom", kind="cuda")),
    "safe-save": {
        **chain(),
        "3": node("SaveImage", "Save $save(filename_prefix) #out", images=["1", 0], filename_prefix="safety"),
    },
    "safe-load": {
        "1": node("LoadImage", "Load $load", image="example.png"),
        "3": node("SaveImage", "Save #out", images=["1", 0], filename_prefix="safety-load"),
    },
    "team/open": chain(),
    "team/closed": chain(),
}


def png(width: int = 8, height: int = 8, color: tuple[int, int, int] = (10, 20, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color if mode == "RGB" else 0).save(buffer, "PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- the server and a client -------------------------------------------------------------------
@dataclass
class Safe:
    server: ComfyServer
    root: Path
    base: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def store(self) -> Path:
        return self.base / "user" / "connect" / "workflows"

    def call(
        self,
        method: str,
        path: str,
        key: str | None = ADMIN,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 90,
        **kwargs: Any,
    ) -> requests.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        return requests.request(method, self.url + path, json=json_body, headers=sent, timeout=timeout, **kwargs)

    def raw(self, method: str, path: str, body: bytes | None = None, key: str | None = ADMIN) -> tuple[int, dict[str, str], bytes]:
        """A request whose path is sent byte for byte (requests would normalise '..' and encodings)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def run(self, name: str, payload: Any = None, key: str | None = ADMIN, **kwargs: Any) -> requests.Response:
        return self.call("POST", f"/api/connect/workflows/{name}", key, payload if payload is not None else {}, **kwargs)

    def queue_depth(self) -> int:
        body = self.call("GET", "/queue").json()
        return len(body["queue_running"]) + len(body["queue_pending"])

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.queue_depth():
            assert time.monotonic() < deadline, f"ComfyUI's queue did not empty within {timeout} s"
            time.sleep(0.05)

    def running_prompt(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            running = self.call("GET", "/queue").json()["queue_running"]
            if running:
                return str(running[0][1])
            assert time.monotonic() < deadline, "no prompt started running"
            time.sleep(0.02)

    def history(self, prompt_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            entry = self.call("GET", f"/history/{prompt_id}").json().get(prompt_id)
            if entry:
                return dict(entry)
            assert time.monotonic() < deadline, f"prompt {prompt_id} never finished"
            time.sleep(0.05)


def assert_error(response: requests.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "details"}, body
    assert body["error"]["type"] == type_, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


def tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[str, int, str]]:
    """Every entry under `root` (symlinks not followed): kind, size and a content hash for files."""
    found: dict[str, tuple[str, int, str]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if any(rel == s or rel.startswith(s) for s in skip):
                continue
            if path.is_symlink():
                found[rel] = ("link", 0, os.readlink(path))
            elif path.is_dir():
                found[rel] = ("dir", 0, "")
            else:
                data = path.read_bytes()
                found[rel] = ("file", len(data), hashlib.sha256(data).hexdigest())
    return found


def store_state(safe: Safe) -> dict[str, str]:
    return {
        p.relative_to(safe.store).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(safe.store.rglob("*"))
        if p.is_file()
    }


def slow_payload(seconds: float, color: int = 0) -> dict[str, Any]:
    return {"slow": {"seconds": seconds}, "canvas": {"color": color}}


def decode_pixel(b64_png: str) -> tuple[int, ...]:
    with Image.open(io.BytesIO(base64.b64decode(b64_png))) as image:
        return tuple(image.convert("RGB").getpixel((0, 0)))  # type: ignore[arg-type]


# -- a file server for URL inputs, on 127.0.0.2 (the one private address the server may reach) -----
class FileHost:
    """Serves test files and hostile redirects on 127.0.0.2, the address CONNECT_URL_ALLOW_NETWORKS lets through."""

    def __init__(self, port_of_comfyui: int) -> None:
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.comfy_port = port_of_comfyui
        self.image = png(color=(200, 100, 50))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.2:{self.port}{path}"

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        redirects = {
            "/to-loopback": f"http://127.0.0.1:{self.port}/img.png",
            "/to-localhost": f"http://localhost:{self.port}/img.png",
            "/to-comfyui": f"http://127.0.0.1:{self.comfy_port}/api/connect/health",
            "/to-metadata": "http://169.254.169.254/latest/meta-data/",
            "/to-file": "file:///etc/passwd",
            "/to-image": "/img.png",
            "/loop": "/loop",
        }
        path = request.path
        if path in redirects:
            request.send_response(302)
            request.send_header("Location", redirects[path])
            request.send_header("Content-Length", "0")
            request.end_headers()
        elif path == "/img.png":
            self._send(request, self.image)
        elif path == "/slow.png":
            time.sleep(5)  # over CONNECT_URL_TIMEOUT=2
            self._send(request, self.image)
        elif path in ("/big.png", "/big-unsized.png"):
            self._send(request, b"\0" * 400_000, sized=path == "/big.png")
        else:
            request.send_error(404)

    @staticmethod
    def _send(request: http.server.BaseHTTPRequestHandler, data: bytes, sized: bool = True) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "image/png")
        if sized:
            request.send_header("Content-Length", str(len(data)))
        request.send_header("Connection", "close")
        request.end_headers()
        with contextlib.suppress(OSError):  # the client may hang up once over its limit
            request.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
