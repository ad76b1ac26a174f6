"""The plugin's HTTP routes and middlewares in-process, on a minimal state: no ComfyUI, no engine.

Everything up to the engine is real (the middlewares, the handlers, the workflow store, the input
files, delivery choices, webhook checks); starting a job is where the fake stops: it answers 503
``unavailable`` with "no engine", so a test can tell "the request was read and accepted" from a refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from aiohttp import web
from aiohttp.test_utils import TestServer

from connect.errors import Unavailable
from connect.http.auth import KeyRing
from connect.http.gate import Cors, Gate
from connect.http.routes import register
from connect.http.state import CONNECT, Connect
from connect.io.delivery import Delivery
from connect.io.inputs import FileLimits, InputFiles
from connect.io.links import FileLinks
from connect.ops.health import Probe
from connect.ops.metrics import Metrics
from connect.run.limits import Admission
from connect.run.webhooks import WebhookPolicy
from connect.settings import Settings
from connect.workflow.store import WorkflowStore

NO_ENGINE = "no engine in this test"
MAX_BODY, MAX_FILE = 20_000, 8_000
CANVAS = {
    "1": {
        "class_type": "EmptyImage",
        "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
        "_meta": {"title": "Canvas $canvas"},
    },
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}, "_meta": {"title": "Save #out"}},
}


class _Jobs:
    def __init__(self) -> None:
        self.webhooks = WebhookPolicy(b"k" * 32)
        self.started: list[Any] = []

    async def start(self, run: Any) -> Any:
        self.started.append(run)
        raise Unavailable(NO_ENGINE)

    async def get(self, job_id: str) -> None:
        return None

    async def select(self, query: Any) -> list[Any]:
        return []


def make_connect(root: Path, keys: KeyRing | None = None, cors: str = "") -> Connect:
    settings = Settings(max_body_bytes=MAX_BODY, max_file_bytes=MAX_FILE)
    metrics = Metrics()
    gate = Gate(keys or KeyRing(), False, Cors.parse(cors), MAX_BODY, Admission(8, 8, lambda: 0, lambda: 1.0), metrics, lambda: True)
    store = WorkflowStore(root / "workflows")
    store.save("canvas", CANVAS)
    (root / "docs").mkdir(exist_ok=True)
    return Connect(
        settings=settings,
        comfy=cast(Any, SimpleNamespace(queue_depth=lambda: 0, worker_alive=lambda: True)),
        store=store,
        files=InputFiles(root / "input", FileLimits()),
        preparer=cast(Any, SimpleNamespace(spec=lambda class_type: None, workflows_changed=lambda: None)),
        docs_assets=root / "docs",
        gate=gate,
        probe=Probe(lambda: 0, lambda: True, 8, 0.0, "test"),
        metrics=metrics,
        delivery=Delivery(lambda kind: None, FileLinks(root / "links", 60.0), False),
        jobs=cast(Any, _Jobs()),
    )


@asynccontextmanager
async def serving(connect: Connect, inner: list[Any] | None = None) -> AsyncIterator[TestServer]:
    """``inner``: middlewares after the plugin's, where ComfyUI's own are (e.g. its origin check)."""
    app = web.Application(middlewares=[*connect.gate.middlewares(), *(inner or [])])
    app[CONNECT] = connect
    routes = web.RouteTableDef()
    register(routes)
    app.add_routes(routes)
    server = TestServer(app)
    async with server:  # `as` would give the base class's type
        yield server


async def raw_request(server: TestServer, head: bytes, body: bytes, *, close_write: bool = False) -> tuple[int, bytes]:
    """A hand-written request on a plain socket (what no well-behaved client would send)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head + b"\r\n\r\n" + body)
    if close_write:
        writer.write_eof()
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.partition(b"\r\n\r\n")[2]
