"""A local HTTP server, in a thread, that serves the files the tests publish (for URL inputs).

`publish("red.png", data)` returns `http://127.0.0.1:<port>/files/red.png`; the same file is also at
`/redirect/red.png` (a 302 to it), `/unsized/red.png` (no Content-Length: read until the connection
closes) and `/hold/red.png` (answered only after `release()`).
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Long enough to outlive any URL timeout the tests set; release() or close() ends it early.
_HOLD_LIMIT = 60.0


class FileServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.held = threading.Event()  # set when a /hold/ request has arrived
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="e2e-file-server", daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def publish(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return self.url(f"/files/{name}")

    def release(self) -> None:
        self._release.set()

    def reset_hold(self) -> None:
        self.held.clear()
        self._release.clear()

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            kind, _, name = self.path.lstrip("/").partition("/")
            data = server.files.get(name)
            try:
                if data is None:
                    self.send_error(HTTPStatus.NOT_FOUND)
                elif kind == "redirect":
                    self.send_response(HTTPStatus.FOUND)
                    self.send_header("Location", f"/files/{name}")
                    self.end_headers()
                elif kind == "hold":
                    server.held.set()
                    server._release.wait(_HOLD_LIMIT)
                    self._send(data, sized=True)
                else:
                    self._send(data, sized=kind != "unsized")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the plugin gave up on this download (its timeout): that is what some tests want

        def _send(self, data: bytes, *, sized: bool) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            if sized:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest's output clean

    return Handler
