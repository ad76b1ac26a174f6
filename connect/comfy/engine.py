"""What the plugin needs from ComfyUI, as two protocols: the engine that runs prompts, and the host.

    Engine   validate and queue a prompt, follow it (completion, per-prompt messages), cancel it,
             read the queue (depth, positions, a prompt's state), the worker's health, node specs
             and the folders outputs are read from
    Host     the engine plus ComfyUI's web app and folders, which only plugin.setup() touches

``ComfyAdapter`` (adapter.py) is the first implementation of both, over ComfyUI's own internals;
``tests/support/fake_engine.py`` is another, in-process, for fast tests. The run layer and the HTTP
state depend on ``Engine`` only; ``plugin.setup()`` picks the implementation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from .adapter import Admitted, ComfyAdapter, CompletionListener, EventListener, Validation
from .frontend import Frontend
from .nodespec import NodeSpec

# Prompt states (Engine.prompt_state): on the queue, executing, in the history, or removed unrun.
PROMPT_STATES = ("queued", "running", "done", "gone")
# Cancel outcomes (Engine.cancel): it was waiting and is taken off, it was running and is stopped, neither.
CANCEL_OUTCOMES = ("removed", "interrupted", "none")


class Engine(Protocol):
    @property
    def loop(self) -> Any:
        """The event loop the engine's listeners are called on (None: the running loop at setup)."""

    def node_spec(self, class_type: str) -> NodeSpec | None: ...

    def node_info(self, class_type: str) -> dict[str, Any] | None:
        """The class's definition as ComfyUI serves it at /object_info (None: not installed)."""

    def frontend(self) -> Frontend:
        """The frontend ComfyUI serves (reads its files: call it off the event loop)."""

    def directory_of(self, kind: str) -> Path | None:
        """The folder of a file reference's type ("output", "input", "temp"), if the engine has one."""

    async def validate(self, prompt_id: str, prompt: dict[str, Any]) -> Validation: ...

    async def admit(self, prompt_id: str, prompt: dict[str, Any], client_id: str, extra_data: dict[str, Any]) -> Admitted:
        """What ComfyUI's POST /prompt does before queueing (its hooks, then validation)."""

    def enqueue(self, prompt_id: str, prompt: dict[str, Any], outputs: list[str], extra_data: dict[str, Any]) -> None: ...

    def new_prompt_id(self) -> str: ...

    def queue_depth(self) -> int:
        """Prompts waiting or running, from every source."""

    def queue_positions(self) -> dict[str, int]:
        """Prompt id -> place among the waiting prompts (1: runs next)."""

    def prompt_state(self, prompt_id: str) -> str:
        """One of PROMPT_STATES."""

    def worker_alive(self) -> bool: ...

    def cancel(self, prompt_id: str) -> str:
        """Stop this prompt and no other; one of CANCEL_OUTCOMES."""

    def on_complete(self, listener: CompletionListener) -> None:
        """Call `listener(prompt_id, status, history)` after each prompt (possibly from another thread)."""

    def on_event(self, listener: EventListener) -> None:
        """Call `listener(event, data)` on the loop with each message about the plugin's prompts and the queue."""

    def queued_prompts(self) -> list[dict[str, Any]]:
        """The prompts waiting or running, from every source (the input files they name are in use)."""

    def validates_itself(self, class_type: str, input_name: str) -> bool:
        """Whether the node class checks this input's value itself (then it takes a file in a subfolder)."""

    def replaced(self, prompt: dict[str, Any]) -> dict[str, Any]:
        """`prompt` (a copy) with the node classes ComfyUI renamed replaced, as POST /prompt would (0.33.0)."""


class Host(Engine, Protocol):
    @property
    def routes(self) -> Any:
        """The aiohttp RouteTableDef the host serves (under / and /api)."""

    def user_dir(self) -> Path: ...

    def user_workflows_dir(self) -> Path:
        """Where ComfyUI's UI saves the user's workflows (Ctrl+S, Save As)."""

    def input_dir(self) -> Path: ...

    def set_app_state(self, key: Any, value: Any) -> None: ...

    def add_middleware(self, middleware: Any) -> None: ...

    def hide_internals_from_outputs(self) -> None:
        """From now on, files the plugin's prompts write embed only what their endpoint allows."""

    def machine(self) -> dict[str, Any]:
        """What ComfyUI's /system_stats says of this box: comfyui_version, device, vram_total, vram_free
        (bytes), and the port it listens on (a cluster heartbeat carries them)."""


def _adapter_is_a_host(adapter: ComfyAdapter) -> Host:
    return adapter  # mypy checks that ComfyAdapter implements the protocols
