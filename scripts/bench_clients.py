"""The two ways a program gets a workflow's images out of ComfyUI, timed the same way.

    plugin = PluginClient(session, url)            # one round trip
    call = await plugin.run("bench-invert", {"canvas": {"color": 7}})
    call = await plugin.run("bench-invert", {}, output="url")   # or "raw", "detailed": the delivery modes
    stock = await StockClient(session, url).open() # what a client of stock ComfyUI must do:
    call = await stock.run(prompt)                 # POST /prompt, websocket wait, GET /history, GET /view

Both return a `Call`: wall time from the first byte sent to the decoded file bytes in hand (in url
mode that includes downloading every link).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

CALL_TIMEOUT = 120.0
# The plugin's delivery modes (connect/delivery.py); None is the default, base64 JSON.
MODES = ("base64", "url", "raw", "detailed")


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Call:
    seconds: float
    prompt_id: str
    files: list[bytes]
    wire_bytes: int  # response bodies the client had to read
    server_timing: dict[str, float] = field(default_factory=dict)  # the plugin's Server-Timing header, ms
    fetch_seconds: float | None = None  # stock: GET /history plus GET /view, the part that delivers the files
    history_entry: dict[str, Any] = field(default_factory=dict)  # stock: the /history entry it read anyway


def parse_server_timing(header: str) -> dict[str, float]:
    """``connect;dur=0.41, comfyui;dur=3.20`` -> {"connect": 0.41, "comfyui": 3.2}"""
    found = {}
    for metric in header.split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if key == "dur" and name:
                found[name] = float(value)
    return found


def execution_ms(history_entry: dict[str, Any]) -> float | None:
    """ComfyUI's own execution time: `execution_start` to `execution_success` (ms timestamps in history)."""
    stamps = {event: data.get("timestamp") for event, data in history_entry.get("status", {}).get("messages", [])}
    start, end = stamps.get("execution_start"), stamps.get("execution_success")
    return float(end - start) if isinstance(start, int) and isinstance(end, int) else None


def cached_nodes(history_entry: dict[str, Any]) -> list[str]:
    for event, data in history_entry.get("status", {}).get("messages", []):
        if event == "execution_cached":
            return [str(n) for n in data.get("nodes", [])]
    return []


async def history(session: aiohttp.ClientSession, url: str, prompt_id: str) -> dict[str, Any]:
    async with session.get(f"{url}/history/{prompt_id}") as response:
        found = await response.json()
    if prompt_id not in found:
        raise BenchError(f"prompt {prompt_id} is not in ComfyUI's history")
    entry: dict[str, Any] = found[prompt_id]
    return entry


class PluginClient:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def run(self, name: str, payload: dict[str, Any], output: str | None = None) -> Call:
        """One call in delivery mode `output` (None: the default, base64 JSON), with its files in hand.

        Any answer that is not what the mode promises raises BenchError naming the mode.
        """
        if output is not None and output not in MODES:
            raise ValueError(f"unknown delivery mode {output!r}")
        query = f"?output={output}" if output else ""
        started = time.perf_counter()
        async with self.session.post(f"{self.url}/api/connect/workflows/{name}{query}", json=payload) as response:
            body = await response.read()
            if response.status != 200:
                raise BenchError(f"plugin run of {name!r}{query} answered {response.status}: {body[:500]!r}")
            prompt_id = response.headers["X-Connect-Prompt-Id"]
            timing = parse_server_timing(response.headers.get("Server-Timing", ""))
            content_type = response.content_type
        wire = len(body)
        where = f"plugin run of {name!r}{query}"
        if output == "raw":
            if not content_type.startswith("image/"):
                raise BenchError(f"{where} answered {content_type}, not the image's bytes: {body[:200]!r}")
            files = [body]
        elif output == "url":
            files = []
            for link in _items(body, where):
                if not isinstance(link, str) or not link.startswith(("http://", "https://", "/")):
                    raise BenchError(f"{where} answered {link!r} where a download link belongs")
                async with self.session.get(link if link.startswith("http") else self.url + link) as download:
                    data = await download.read()
                    if download.status != 200:
                        raise BenchError(f"downloading {link} answered {download.status}: {data[:200]!r}")
                wire += len(data)
                files.append(data)
        elif output == "detailed":
            items = list(_items(body, where))
            if not all(isinstance(i, dict) and i.get("type") == "file" and isinstance(i.get("content"), str) for i in items):
                raise BenchError(f"{where} answered items that are not files with base64 content: {body[:300]!r}")
            files = [_decode(item["content"], where) for item in items]
        else:
            files = [_decode(item, where) for item in _items(body, where)]
        return Call(time.perf_counter() - started, prompt_id, files, wire, timing)


def _items(body: bytes, where: str) -> Iterator[Any]:
    """The items of a JSON answer ``{"<output name>": [item, ...]}``."""
    try:
        outputs = json.loads(body)
    except ValueError:
        raise BenchError(f"{where} answered no JSON: {body[:200]!r}") from None
    if not isinstance(outputs, dict) or not all(isinstance(v, list) for v in outputs.values()):
        raise BenchError(f"{where} answered JSON that is not {{output name: [items]}}: {body[:200]!r}")
    for items in outputs.values():
        yield from items


def _decode(item: Any, where: str) -> bytes:
    try:
        return base64.b64decode(item, validate=True)
    except (TypeError, ValueError):
        raise BenchError(f"{where} answered {str(item)[:100]!r} where a file's base64 belongs") from None


class StockClient:
    """One websocket per client, as ComfyUI's own API examples do; completion is `executing` with node None."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.client_id = str(uuid.uuid4())
        self._done: dict[str, asyncio.Future[str | None]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> StockClient:
        self._ws = await self.session.ws_connect(f"{self.url}/ws?clientId={self.client_id}", max_msg_size=0)
        self._reader = asyncio.create_task(self._read(self._ws))
        return self

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader

    def _future(self, prompt_id: str) -> asyncio.Future[str | None]:
        # The end of a fast prompt can arrive before POST /prompt has answered: keep it until asked for.
        if prompt_id not in self._done:
            self._done[prompt_id] = asyncio.get_running_loop().create_future()
        return self._done[prompt_id]

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue  # binary previews
            event = json.loads(message.data)
            data = event.get("data") or {}
            prompt_id = data.get("prompt_id")
            if not prompt_id:
                continue
            if event.get("type") == "executing" and data.get("node") is None:
                self._settle(prompt_id, None)
            elif event.get("type") in ("execution_error", "execution_interrupted"):
                self._settle(prompt_id, f"{event['type']}: {data.get('exception_message', '')}")

    def _settle(self, prompt_id: str, error: str | None) -> None:
        future = self._future(prompt_id)
        if not future.done():
            future.set_result(error)

    async def run(self, prompt: dict[str, Any]) -> Call:
        started = time.perf_counter()
        wire = 0
        async with self.session.post(f"{self.url}/prompt", json={"prompt": prompt, "client_id": self.client_id}) as response:
            body = await response.read()
            wire += len(body)
            if response.status != 200:
                raise BenchError(f"POST /prompt answered {response.status}: {body[:500]!r}")
            prompt_id = json.loads(body)["prompt_id"]
        error = await asyncio.wait_for(self._future(prompt_id), CALL_TIMEOUT)
        self._done.pop(prompt_id, None)
        if error is not None:
            raise BenchError(f"stock prompt {prompt_id} failed: {error}")
        fetch_started = time.perf_counter()
        async with self.session.get(f"{self.url}/history/{prompt_id}") as response:
            body = await response.read()
            wire += len(body)
        entry = json.loads(body)[prompt_id]
        files = []
        for output in entry["outputs"].values():
            for image in output.get("images", []):
                params = {"filename": image["filename"], "subfolder": image["subfolder"], "type": image["type"]}
                async with self.session.get(f"{self.url}/view", params=params) as response:
                    data = await response.read()
                    if response.status != 200:
                        raise BenchError(f"GET /view answered {response.status}")
                wire += len(data)
                files.append(data)
        ended = time.perf_counter()
        return Call(ended - started, prompt_id, files, wire, fetch_seconds=ended - fetch_started, history_entry=entry)
