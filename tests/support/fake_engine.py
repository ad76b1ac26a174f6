"""An in-process engine and host for fast tests: the plugin's ``Host`` protocol without ComfyUI or torch.

    engine = FakeEngine(tmp_path)              # inside a running event loop
    connect = plugin.setup(engine, settings)   # the real plugin on top
    app = engine.serve()                       # its routes, under / and /api, as ComfyUI serves them

It validates prompts against a small table of node definitions shaped like ComfyUI's ``/object_info``
(fake_nodes.py), runs them one at a time on the loop with the node behaviour below (images are small PIL
images, SaveImage writes real PNG files into ``<root>/output``), and sends ComfyUI's messages
(execution_start, executing, progress, executed...) and completions to the plugin's listeners.

Test controls: ``pause()`` holds every prompt once it has started, before its first node, until
``resume()`` or its cancel; ``alive = False`` plays a dead prompt worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from PIL import Image, ImageOps

from connect.comfy.adapter import CLIENT_PREFIX, Admitted, CompletionListener, EventListener, Validation
from connect.comfy.engine import Host
from connect.comfy.frontend import Frontend
from connect.comfy.nodespec import NodeSpec

from .fake_nodes import NODES, validate


class NodeFailed(Exception):
    pass


class Interrupted(Exception):
    pass


# Loader classes whose own check of a file input lets ComfyUI take a file in a subfolder (LoadImage's VALIDATE_INPUTS).
# The fake serves no page; it answers as the frontend ComfyUI 0.3.75 ships would.
FRONTEND = Frontend("1.32.9", {"EmptyImage": "EmptyImage", "ImageInvert": "Invert Image", "SaveImage": "Save Image"})
SELF_VALIDATING = frozenset({"LoadImage", "LoadImageMask"})


class FakeEngine:
    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ("output", "input", "temp", "user"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4), (255, 0, 0)).save(root / "input" / "example.png")
        self.app = web.Application()
        self._routes = web.RouteTableDef()
        self._loop = asyncio.get_running_loop()
        self._completions: list[CompletionListener] = []
        self._listeners: list[EventListener] = []
        self._waiting: list[tuple[str, dict[str, Any], list[str], dict[str, Any]]] = []  # (prompt id, prompt, outputs, extra data)
        self._running: str | None = None
        self._running_prompt: dict[str, Any] = {}
        self._interrupt = asyncio.Event()
        self._go = asyncio.Event()
        self._go.set()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._started = asyncio.Event()  # replaced each time a prompt starts
        self._counter = 0
        self.history: dict[str, dict[str, Any]] = {}
        self.alive = True

    # -- Host --------------------------------------------------------------------------------------------
    @property
    def routes(self) -> web.RouteTableDef:
        return self._routes

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def user_dir(self) -> Path:
        return self.root / "user"

    def user_workflows_dir(self) -> Path:
        return self.user_dir() / "default" / "workflows"

    def input_dir(self) -> Path:
        return self.root / "input"

    def directory_of(self, kind: str) -> Path | None:
        return self.root / kind if kind in ("output", "input", "temp") else None

    def set_app_state(self, key: Any, value: Any) -> None:
        self.app[key] = value

    def add_middleware(self, middleware: Any) -> None:
        self.app.middlewares.insert(0, middleware)

    def hide_internals_from_outputs(self) -> None:
        pass  # the fake writes plain PNGs that embed nothing

    def validates_itself(self, class_type: str, input_name: str) -> bool:
        return class_type in SELF_VALIDATING

    def replaced(self, prompt: dict[str, Any]) -> dict[str, Any]:
        return prompt  # like ComfyUI 0.3.75: no renamed classes

    def queued_prompts(self) -> list[dict[str, Any]]:
        return [prompt for _, prompt, _, _ in self._waiting] + ([self._running_prompt] if self._running is not None else [])

    def serve(self) -> web.Application:
        """The app with the registered routes, under /api and without, as ComfyUI's add_routes() does."""
        prefixed = web.RouteTableDef()
        for route in self._routes:
            if isinstance(route, web.RouteDef):
                prefixed.route(route.method, "/api" + route.path)(route.handler, **route.kwargs)
        self.app.add_routes(prefixed)
        self.app.add_routes(self._routes)
        return self.app

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    # -- Engine: node definitions and the queue ----------------------------------------------------------
    def node_spec(self, class_type: str) -> NodeSpec | None:
        info = NODES.get(class_type)
        return None if info is None else NodeSpec.from_object_info(class_type, info)

    def node_info(self, class_type: str) -> dict[str, Any] | None:
        return NODES.get(class_type)

    def frontend(self) -> Frontend:
        return FRONTEND

    async def validate(self, prompt_id: str, prompt: dict[str, Any]) -> Validation:
        return validate(prompt)

    async def admit(self, prompt_id: str, prompt: dict[str, Any], client_id: str, extra_data: dict[str, Any]) -> Admitted:
        # No on_prompt handlers or node replacements here: validation alone, as on a ComfyUI without them.
        return Admitted(prompt, {**extra_data, "client_id": client_id}, validate(prompt))

    def enqueue(self, prompt_id: str, prompt: dict[str, Any], outputs: list[str], extra_data: dict[str, Any]) -> None:
        self._waiting.append((prompt_id, prompt, outputs, {"create_time": int(time.time() * 1000), **extra_data}))
        if self._worker is None:
            self._worker = self._loop.create_task(self._work())
        self._status()
        self._wake.set()

    def new_prompt_id(self) -> str:
        return str(uuid.uuid4())

    def queue_depth(self) -> int:
        return len(self._waiting) + (self._running is not None)

    def queue_positions(self) -> dict[str, int]:
        return {item[0]: place for place, item in enumerate(self._waiting, 1)}

    def prompt_state(self, prompt_id: str) -> str:
        if prompt_id == self._running:
            return "running"
        if any(item[0] == prompt_id for item in self._waiting):
            return "queued"
        return "done" if prompt_id in self.history else "gone"

    def worker_alive(self) -> bool:
        return self.alive

    def machine(self) -> dict[str, Any]:
        return {"comfyui_version": "fake", "device": "fake device", "vram_total": 2**30, "vram_free": 2**29, "port": 8188}

    def cancel(self, prompt_id: str) -> str:
        kept = [item for item in self._waiting if item[0] != prompt_id]
        if len(kept) < len(self._waiting):
            self._waiting = kept
            self._status()
            return "removed"
        if prompt_id == self._running:
            self._interrupt.set()
            return "interrupted"
        return "none"

    def on_complete(self, listener: CompletionListener) -> None:
        self._completions.append(listener)

    def on_event(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    # -- test controls -----------------------------------------------------------------------------------
    def pause(self) -> None:
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    async def running(self, prompt_id: str | None = None) -> str:
        """Once this prompt (or any, without one) is the one running: its id."""
        while self._running is None or self._running != (prompt_id or self._running):
            await self._started.wait()
        return self._running

    # -- the worker --------------------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            while not self._waiting:
                self._wake.clear()
                await self._wake.wait()
            prompt_id, prompt, outputs, extra = self._waiting.pop(0)
            self._running, self._running_prompt = prompt_id, prompt
            self._interrupt.clear()
            started, self._started = self._started, asyncio.Event()
            started.set()
            try:
                status, ui = await self._execute(prompt_id, prompt, outputs, extra)
            finally:
                self._running = None
            history = {"outputs": ui, "meta": {}}
            self.history[prompt_id] = {"status": status, **history}
            self._status()
            for listener in self._completions:
                listener(prompt_id, {**status, "create_time": extra["create_time"]}, history)

    async def _execute(
        self, prompt_id: str, prompt: dict[str, Any], outputs: list[str], extra: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        sid = str(extra.get("client_id", ""))
        messages: list[list[Any]] = []

        def send(event: str, data: dict[str, Any]) -> None:
            data = {**data, "prompt_id": prompt_id}
            if event.startswith("execution_"):
                messages.append([event, {**data, "timestamp": int(time.time() * 1000)}])
            if sid.startswith(CLIENT_PREFIX):
                self._send(event, messages[-1][1] if event.startswith("execution_") else data)

        self._status()
        send("execution_start", {})
        send("execution_cached", {"nodes": []})
        run = _Run(self, prompt, send)
        try:
            for node_id in outputs:
                await run.value(node_id)
        except Interrupted:
            send("execution_interrupted", {"node_id": run.current, "node_type": _class_of(prompt, run.current), "executed": run.done})
            return {"status_str": "error", "completed": False, "messages": messages}, run.ui
        except NodeFailed as exc:
            details = {"node_id": run.current, "node_type": _class_of(prompt, run.current), "executed": run.done}
            send("execution_error", {**details, "exception_message": str(exc), "exception_type": "RuntimeError", "traceback": []})
            return {"status_str": "error", "completed": False, "messages": messages}, run.ui
        send("executing", {"node": None})
        send("execution_success", {})
        return {"status_str": "success", "completed": True, "messages": messages}, run.ui

    async def checkpoint(self) -> None:
        """Where a running prompt stops while paused, and notices its interrupt."""
        if not self._go.is_set() and not self._interrupt.is_set():
            waits = {asyncio.ensure_future(self._go.wait()), asyncio.ensure_future(self._interrupt.wait())}
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        if self._interrupt.is_set():
            raise Interrupted

    def next_filename(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter:05}_.png"

    def _status(self) -> None:
        self._send("status", {"status": {"exec_info": {"queue_remaining": self.queue_depth()}}})

    def _send(self, event: str, data: dict[str, Any]) -> None:
        # As ComfyAdapter does: listeners run later on the loop, in order, never inside the call that sent.
        for listener in self._listeners:
            self._loop.call_soon(listener, event, data)


class _Run:
    """One prompt's execution: each node evaluated once, after its inputs, as ComfyUI's executor does."""

    def __init__(self, engine: FakeEngine, prompt: dict[str, Any], send: Callable[[str, dict[str, Any]], None]) -> None:
        self.engine, self.prompt, self.send = engine, prompt, send
        self.values: dict[str, Any] = {}
        self.ui: dict[str, Any] = {}
        self.done: list[str] = []
        self.current: str | None = None

    async def value(self, node_id: str) -> Any:
        if node_id in self.values:
            return self.values[node_id]
        node = self.prompt[node_id]
        inputs = {}
        for name, given in node.get("inputs", {}).items():
            is_link = isinstance(given, list) and len(given) == 2 and isinstance(given[0], str)
            inputs[name] = (await self.value(given[0]))[given[1]] if is_link else given
        self.current = node_id
        self.send("executing", {"node": node_id, "display_node": node_id})
        await self.engine.checkpoint()
        outputs, ui = await self._call(node["class_type"], inputs)
        if ui is not None:
            self.ui[node_id] = ui
            self.send("executed", {"node": node_id, "display_node": node_id, "output": ui})
        self.values[node_id] = outputs
        self.done.append(node_id)
        return outputs

    async def _call(self, class_type: str, given: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
        if class_type == "EmptyImage":
            color = int(given["color"])
            rgb = ((color >> 16) & 255, (color >> 8) & 255, color & 255)
            return ([Image.new("RGB", (int(given["width"]), int(given["height"])), rgb)] * int(given["batch_size"]),), None
        if class_type == "ImageInvert":
            return ([ImageOps.invert(image) for image in given["image"]],), None
        if class_type == "LoadImage":
            with Image.open(self.engine.input_dir() / str(given["image"])) as image:
                return ([image.convert("RGB")], None), None
        if class_type == "ConnectTestSteps":
            steps = int(given["steps"])
            for step in range(1, steps + 1):
                await self.engine.checkpoint()
                self.send("progress", {"node": self.current, "value": step, "max": steps})
            return (given["image"],), None
        if class_type == "ConnectTestRaise":
            raise NodeFailed(str(given["message"]))
        if class_type == "SaveImage":
            files = []
            for image in given["images"]:
                name = self.engine.next_filename(str(given["filename_prefix"]))
                image.save(self.engine.root / "output" / name)
                files.append({"filename": name, "subfolder": "", "type": "output"})
            return (), {"images": files}
        if class_type == "PreviewAny":
            return (), {"text": [str(given["source"])]}
        raise NodeFailed(f"the fake engine cannot run {class_type}")


def _class_of(prompt: dict[str, Any], node_id: str | None) -> str | None:
    return None if node_id is None else prompt.get(node_id, {}).get("class_type")


def _is_a_host(engine: FakeEngine) -> Host:
    return engine  # mypy checks that the fake implements the same protocols as ComfyAdapter
