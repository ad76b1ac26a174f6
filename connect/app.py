"""The plugin's state, and ``setup()``, the one call that wires it into a running ComfyUI.

    from .connect.app import setup
    setup()          # registers the routes on PromptServer.instance

Nothing happens at import time; everything hangs off the ``Connect`` object built here.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bypass import apply_bypass
from .cache import keepalive_nodes
from .comfy import ComfyAdapter
from .executor import Executor, RunResult
from .files import FileLimits, InputFiles
from .nodespec import NodeSpec
from .openapi import build_document
from .payload import patch_prompt
from .settings import Settings
from .store import SavedWorkflow, WorkflowStore
from .workflow import Prompt

VERSION = "0.1.0"
# Files edited on disk change the `!cache` set; re-read it at most this often.
_KEEPALIVE_TTL = 1.0


@dataclass
class Connect:
    settings: Settings
    comfy: ComfyAdapter
    store: WorkflowStore
    files: InputFiles
    executor: Executor
    docs_assets: Path
    _specs: dict[str, NodeSpec | None] = field(default_factory=dict)
    _keepalive: tuple[float, Prompt] = (0.0, {})

    def spec(self, class_type: str) -> NodeSpec | None:
        # Types never change while ComfyUI runs; combo choices do, so the document reads them live.
        if class_type not in self._specs:
            self._specs[class_type] = self.comfy.node_spec(class_type)
        return self._specs[class_type]

    def directory_of(self, kind: str) -> Path | None:
        return self.comfy.directory_of(kind)

    def workflows_changed(self) -> None:
        self._keepalive = (0.0, {})

    def keepalive(self) -> Prompt:
        stamp, nodes = self._keepalive
        now = time.monotonic()
        if now - stamp > _KEEPALIVE_TTL:
            good, _ = self.store.load_all()
            nodes = keepalive_nodes(good, self._keepable)
            self._keepalive = (now, nodes)
        return nodes

    def _keepable(self, class_type: str) -> bool:
        # ComfyUI validates and runs every output node of a prompt: a kept-alive copy of one would
        # run (save files, take time) with every call of every other workflow.
        spec = self.spec(class_type)
        return spec is not None and not spec.output_node

    async def run(self, saved: SavedWorkflow, payload: Any, timeout: float) -> tuple[RunResult, dict[str, tuple[str, ...]]]:
        endpoint = saved.endpoint
        patched = await patch_prompt(endpoint, payload, self.files.resolve)
        prompt = apply_bypass(patched.prompt, patched.bypass, self.spec)
        prompt = {**self.keepalive(), **prompt}
        result = await self.executor.run(endpoint, prompt, timeout)
        outputs = {name: tuple(n for n in ids if n in prompt) for name, ids in endpoint.outputs.items()}
        return result, outputs

    def openapi_document(self) -> dict[str, Any]:
        good, bad = self.store.load_all()
        return build_document(good, self.comfy.node_spec, bad, VERSION)


def setup(comfy: ComfyAdapter | None = None, settings: Settings | None = None) -> Connect:
    comfy = comfy or ComfyAdapter.from_running_server()
    settings = settings or Settings()
    store_dir = settings.workflows_dir or comfy.user_dir() / "connect" / "workflows"
    limits = FileLimits(settings.max_file_bytes, settings.url_timeout, settings.allow_private_urls)
    connect = Connect(
        settings=settings,
        comfy=comfy,
        store=WorkflowStore(Path(store_dir)),
        files=InputFiles(comfy.input_dir(), limits),
        executor=Executor(comfy),
        docs_assets=_swagger_ui_static(),
    )
    from .routes import register

    register(comfy.routes, connect)
    return connect


def _swagger_ui_static() -> Path:
    # Locate swagger-ui-py's bundled assets without importing the package (and its web frameworks).
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("ComfyUI-Connect needs the 'swagger-ui-py' package: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "static"
