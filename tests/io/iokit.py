"""Helpers of the input/output tests: workflows, media files made on the spot, a URL host, a client.

Three real ComfyUI servers (conftest.py), each in its own base directory:

    io        the main one: CONNECT_KEEP_OUTPUTS off, ComfyUI's --disable-metadata (so a PNG that
              goes through LoadImage -> SaveImage comes back byte for byte), small file limits
    kept      CONNECT_KEEP_OUTPUTS=1, ComfyUI's PNG metadata on (CONNECT_METADATA=full), download links valid 2 s
    expiring  download links valid 2 s, outputs not kept
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import io
import json
import select
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import requests
from launcher import REPO, ComfyServer
from PIL import Image

TEST_NODES = REPO / "tests" / "nodes" / "connect_test_nodes"
MAX_FILE = 20_000_000
MAX_BODY = 40_000_000
MAX_PIXELS = 2048 * 2048 * 2
URL_MEDIA = "application/vnd.comfyui-connect.url+json"
DETAILED_MEDIA = "application/vnd.comfyui-connect.detailed+json"


def node(class_type: str, title: str = "", **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def canvas(node_id: str, color: int, batch: int = 1, size: int = 16) -> dict[str, Any]:
    return {node_id: node("EmptyImage", f"Canvas $canvas{node_id}", width=size, height=size, batch_size=batch, color=color)}


WORKFLOWS: dict[str, dict[str, Any]] = {
    # inputs
    "io-image": {
        "1": node("LoadImage", "Load $load", image="example.png"),
        "2": node("SaveImage", "Save #out", images=["1", 0], filename_prefix="io-image"),
    },
    "io-pair": {
        "1": node("LoadImage", "$first", image="example.png"),
        "2": node("LoadImage", "$second", image="example.png"),
        "3": node("SaveImage", "#first_out", images=["1", 0], filename_prefix="io-pair-a"),
        "4": node("SaveImage", "#second_out", images=["2", 0], filename_prefix="io-pair-b"),
    },
    "io-mask": {
        "1": node("LoadImageMask", "Mask $mask", image="example.png", channel="red"),
        "2": node("MaskToImage", "", mask=["1", 0]),
        "3": node("SaveImage", "Save #out", images=["2", 0], filename_prefix="io-mask"),
    },
    "io-video": {
        "1": node("LoadVideo", "Load $video", file="example.webm"),
        "2": node("GetVideoComponents", "", video=["1", 0]),
        "3": node("SaveImage", "Frames #frames", images=["2", 0], filename_prefix="io-video"),
    },
    "io-audio": {
        "1": node("ConnectTestLoadAudio", "Load $audio", audio="example.flac"),
        "2": node("ConnectTestSaveAudio", "Save #out", audio=["1", 0], filename_prefix="io-audio/clip"),
    },
    # outputs
    "io-batch": {
        **canvas("1", 0xFF0000),
        **canvas("2", 0x00FF00),
        "3": node("ImageBatch", "", image1=["1", 0], image2=["2", 0]),
        "4": node("SaveImage", "Save #out", images=["3", 0], filename_prefix="io-batch"),
    },
    # Noise makes the frames differ: libwebp and Pillow's APNG writer merge identical frames into one.
    "io-webp": {
        **canvas("1", 0x3366FF, batch=4),
        "2": node("ImageAddNoise", "", image=["1", 0], seed=1, strength=0.5),
        "3": node(
            "SaveAnimatedWEBP", "#out", images=["2", 0], filename_prefix="io-webp", fps=8.0, lossless=True, quality=80, method="default"
        ),
    },
    "io-apng": {
        **canvas("1", 0x3366FF, batch=3),
        "2": node("ImageAddNoise", "", image=["1", 0], seed=1, strength=0.5),
        "3": node("SaveAnimatedPNG", "#out", images=["2", 0], filename_prefix="io-apng", fps=5.0, compress_level=4),
    },
    "io-webm": {
        **canvas("1", 0x808080, batch=6, size=64),
        "2": node("SaveWEBM", "#out", images=["1", 0], filename_prefix="io-webm", codec="vp9", fps=12.0, crf=32.0),
    },
    "io-mp4": {
        **canvas("1", 0x808080, batch=5, size=64),
        "2": node("ConnectTestTone", "", hertz=440.0, seconds=0.5, sample_rate=16000),
        "3": node("CreateVideo", "", images=["1", 0], fps=10.0, audio=["2", 0]),
        "4": node("SaveVideo", "#out", video=["3", 0], filename_prefix="video/io-mp4", format="mp4", codec="h264"),
    },
    "io-tone": {
        "1": node("ConnectTestTone", "Tone $tone", hertz=440.0, seconds=0.5, sample_rate=16000),
        "2": node("ConnectTestSaveAudio", "#out", audio=["1", 0], filename_prefix="io-tone/tone"),
    },
    "io-text": {
        "1": node("PrimitiveString", "$text", value="hello from ComfyUI"),
        "2": node("PreviewAny", "#caption", source=["1", 0]),
    },
    "io-mesh": {
        "1": node("ConnectTestVoxel", "", resolution=8),
        "2": node("VoxelToMeshBasic", "", voxel=["1", 0], threshold=0.5),
        "3": node("SaveGLB", "#mesh", mesh=["2", 0], filename_prefix="mesh/io"),
    },
    "io-latent": {
        "1": node("EmptyLatentImage", "", width=64, height=64, batch_size=1),
        "2": node("SaveLatent", "#latent", samples=["1", 0], filename_prefix="latents/io"),
    },
    "io-preview": {**canvas("1", 0x00FFFF), "2": node("PreviewImage", "#preview", images=["1", 0])},
    "io-mixed": {
        **canvas("1", 0xFFFF00),
        "2": node("SaveImage", "#image", images=["1", 0], filename_prefix="io-mixed"),
        "3": node("GetImageSize", "", image=["1", 0]),
        "4": node("PreviewAny", "#width", source=["3", 0]),
    },
    "io-none": canvas("1", 0),
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


# -- the servers and a client -------------------------------------------------------------------------
@dataclass
class Io:
    server: ComfyServer
    base: Path
    key: str | None = None  # sent as a bearer key when the server has CONNECT_API_KEYS

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def temp(self) -> Path:
        return self.base / "temp"

    @property
    def input(self) -> Path:
        return self.base / "input"

    @property
    def links(self) -> Path:
        return self.base / "user" / "connect" / "files"

    def run(self, name: str, payload: Any = None, *, output: str | None = None, accept: str | None = None, **kw: Any) -> requests.Response:
        headers = {"Accept": accept} if accept else {}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        sent = {"params": {"output": output} if output else None, "headers": headers, "timeout": 180}
        if "files" in kw:  # multipart: the payload travels as its own part
            files = {"payload": (None, json.dumps(payload or {}), "application/json"), **kw.pop("files")}
            return requests.post(self._run_url(name), files=files, **sent, **kw)
        return requests.post(self._run_url(name), json=payload if payload is not None else {}, **sent, **kw)

    def _run_url(self, name: str) -> str:
        return f"{self.url}/api/connect/workflows/{name}"

    def history(self, prompt_id: str) -> dict[str, Any]:
        entry: dict[str, Any] = requests.get(f"{self.url}/history/{prompt_id}", timeout=30).json()[prompt_id]
        return entry

    def history_size(self) -> int:
        return len(requests.get(f"{self.url}/history", timeout=30).json())

    def cached_nodes(self, prompt_id: str) -> list[str]:
        for event, data in self.history(prompt_id)["status"]["messages"]:
            if event == "execution_cached":
                return list(data["nodes"])
        raise AssertionError(f"no execution_cached message for {prompt_id}")


def assert_error(response: requests.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:2000]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "details"}, body
    assert body["error"]["type"] == type_, body
    return dict(body["error"])


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.1)


class FileHost:
    """Serves bytes over HTTP on 127.0.0.1 for URL inputs (the io servers allow private URLs)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = host.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stream_upload(port: int, path: str, headers: dict[str, str], chunks: Any, limit_bytes: int) -> tuple[int, bytes, int]:
    """Send a chunked body piece by piece until the server answers; returns (status, body, bytes sent).

    The body generator could go on for far longer than `limit_bytes`; a server that checks the size
    while streaming answers 413 long before. No time is measured: only how much was sent.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = 0
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered
            with contextlib.suppress(OSError):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
            if sent > limit_bytes:
                break
        response = _read_response(sock)
        return response[0], response[1], sent
    finally:
        sock.close()


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return status, body
