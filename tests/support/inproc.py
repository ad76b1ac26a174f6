"""The real plugin on the fake engine, served by aiohttp's test server: one per test, in one event loop.

def test_x(tmp_path):
    async def scenario(plugin: Plugin) -> None:
        response = await plugin.client.get("/api/connect/workflows")
    run(tmp_path, scenario)
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from connect.http.state import Connect
from connect.plugin import setup
from connect.settings import Settings
from support.fake_engine import FakeEngine
from support.workflows import Prompt, link, node


@dataclass
class Plugin:
    engine: FakeEngine
    connect: Connect
    client: TestClient[Any, Any]

    async def save(self, name: str, prompt: Prompt) -> None:
        response = await self.client.put(f"/api/connect/workflows/{name}", json={"prompt": prompt})
        assert response.status in (200, 201), await response.text()

    async def run(self, name: str, payload: Any = None, **kwargs: Any) -> Any:
        return await self.client.post(f"/api/connect/workflows/{name}", json=payload or {}, **kwargs)

    async def job(self, job_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/connect/jobs/{job_id}")
        assert response.status == 200, await response.text()
        return dict(await response.json())

    async def finished(self, job_id: str) -> dict[str, Any]:
        """The job once it has ended (the runner's own wait: no polling)."""
        await self.connect.jobs.wait(job_id, 60)
        return await self.job(job_id)


def run(tmp_path: Path, scenario: Callable[[Plugin], Awaitable[None]], **settings: Any) -> None:
    async def main() -> None:
        engine = FakeEngine(tmp_path / "comfy")
        connect = setup(engine, Settings(**settings))
        try:
            async with TestClient(TestServer(engine.serve())) as client:
                await scenario(Plugin(engine, connect, client))
        finally:
            engine.resume()
            await engine.close()

    asyncio.run(main())


def canvas(color: int = 0, batch: int = 1) -> Prompt:
    """EmptyImage -> SaveImage, as tests/support/workflows.canvas."""
    widgets = {"width": 8, "height": 8, "batch_size": batch, "color": color}
    return {
        "1": node("EmptyImage", "Canvas $canvas", **widgets),
        "2": node("SaveImage", "Save #out", images=link("1"), filename_prefix="t"),
    }


def steps(count: int = 3) -> Prompt:
    """EmptyImage -> ConnectTestSteps (progress messages) -> ImageInvert -> SaveImage."""
    return {
        "1": node("EmptyImage", "Canvas $canvas", width=4, height=4, batch_size=1, color=0),
        "2": node("ConnectTestSteps", "Steps", image=link("1"), steps=count, seconds=0.0),
        "3": node("ImageInvert", "Invert", image=link("2")),
        "4": node("SaveImage", "Save #out", images=link("3"), filename_prefix="t"),
    }


def pixel(data: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as image:
        return tuple(image.convert("RGB").getpixel((0, 0)))


def b64_pixel(encoded: str) -> tuple[int, ...]:
    return pixel(base64.b64decode(encoded))
