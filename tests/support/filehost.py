"""One local HTTP server, in a thread, for everything a test serves to the plugin or receives from it.

GET: the routes a test registers. `serve("/x.png", data)` answers that exact path (optionally without
Content-Length, after a delay, or held until `release()`); `redirect(path, location)` answers 302;
`publish("red.png", data)` registers the usual set at once:

    /files/red.png      the bytes
    /redirect/red.png   a 302 to /files/red.png
    /unsized/red.png    no Content-Length: read until the connection closes
    /hold/red.png       answered only after `release()` (`held` is set once it is asked for)

POST (webhooks): every request is recorded in `deliveries`, answered with the next status of `script`
(then 204). `hook` is a URL for that.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Long enough to outlive any URL timeout the tests set; release() or close() ends it early.
_HOLD_LIMIT = 60.0


@dataclass(frozen=True)
class Route:
    data: bytes = b""
    content_type: str = "application/octet-stream"
    sized: bool = True
    delay: float = 0.0  # seconds before answering (a server slower than the plugin's URL timeout)
    hold: bool = False  # answer only after release()
    location: str | None = None  # a 302 to here instead


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


class FileHost:
    def __init__(self, address: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.deliveries: list[Delivery] = []
        self.script: list[int] = []  # statuses for the next POSTs
        self.hold_posts = False  # answer POSTs (recorded at once) only after release(): a webhook in flight
        self.held = threading.Event()  # set when a held route has been asked for
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((address, 0), _handler(self))
        self._httpd.daemon_threads = True
        self.address = address
        self.port = int(self._httpd.server_address[1])
        threading.Thread(target=self._httpd.serve_forever, name="test-file-host", daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def hook(self) -> str:
        """A webhook URL: POSTs to it are recorded."""
        return self.url("/hook")

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, data: bytes, **route: Any) -> str:
        self.routes[path] = Route(data, **route)
        return self.url(path)

    def redirect(self, path: str, location: str) -> str:
        self.routes[path] = Route(location=location)
        return self.url(path)

    def publish(self, name: str, data: bytes) -> str:
        self.serve(f"/unsized/{name}", data, sized=False)
        self.serve(f"/hold/{name}", data, hold=True)
        self.redirect(f"/redirect/{name}", f"/files/{name}")
        return self.serve(f"/files/{name}", data)

    def release(self) -> None:
        self._release.set()

    def reset_hold(self) -> None:
        self.held.clear()
        self._release.clear()

    def wait_for(self, count: int, timeout: float = 30) -> list[Delivery]:
        """The first `count` POSTs, once they have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            assert time.monotonic() < deadline, f"{len(self.deliveries)} webhook deliveries, expected {count}"
            time.sleep(0.02)
        return list(self.deliveries)

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _answer(self, route: Route) -> Route:
        if route.hold:
            self.held.set()
            self._release.wait(_HOLD_LIMIT)
        elif route.delay:
            time.sleep(route.delay)
        return route

    def _record(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = self.script.pop(0) if self.script else 204
            self.deliveries.append(Delivery(headers, body, status))
        return status


def _handler(host: FileHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = host.routes.get(self.path)
            if route is None:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            route = host._answer(route)
            # The plugin may give up on a download (its timeout, its size limit): that is what some tests want.
            with contextlib.suppress(OSError):
                if route.location is not None:
                    self.send_response(HTTPStatus.FOUND)
                    self.send_header("Location", route.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._send(route)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = host._record(dict(self.headers.items()), body)
            if host.hold_posts:
                host.held.set()
                host._release.wait(_HOLD_LIMIT)
            with contextlib.suppress(OSError):  # the sender may be gone meanwhile (killed)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def _send(self, route: Route) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", route.content_type)
            if route.sized:
                self.send_header("Content-Length", str(len(route.data)))
            self.end_headers()
            self.wfile.write(route.data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest's output clean

    return Handler
