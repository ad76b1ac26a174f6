"""Which ComfyUI is running, and whether it has the internals the adapter needs.

    features = check_internals(server, execution, nodes, version)   # RuntimeError if one is missing

The plugin was tested on the ComfyUI versions in TESTED_VERSIONS. Another version starts with one
warning line as long as every internal the adapter calls is there (ComfyUI's internals change more
slowly than its version number); a missing one fails at start, naming what is missing, instead of
silently doing nothing later. Optional internals (newer ComfyUIs only) are reported in `Features`,
and the adapter uses them where they exist. Only the adapter calls this, with ComfyUI's own objects
(tests pass fakes).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TESTED_VERSIONS = ("0.3.75", "0.33.0")


@dataclass(frozen=True)
class Features:
    version: str | None
    on_prompt: bool  # PromptServer.trigger_on_prompt: other plugins' on_prompt handlers
    replacements: bool  # PromptServer.node_replace_manager (0.33.0): renamed/deprecated node classes
    atomic_interrupt: bool  # PromptQueue.interrupt_if_running (0.33.0): check-and-interrupt in one step


def comfyui_version() -> str | None:
    """ComfyUI's version as its comfyui_version.py states it, or None if it has none."""
    try:
        import comfyui_version
    except ImportError:
        return None
    version = getattr(comfyui_version, "__version__", None)
    return version if isinstance(version, str) else None


def check_internals(server: Any, execution: Any, nodes: Any, version: str | None, log: logging.Logger | None = None) -> Features:
    missing = missing_internals(server, execution, nodes)
    shown = version or "of unknown version"
    if missing:
        raise RuntimeError(f"ComfyUI-Connect cannot run on ComfyUI {shown} (tested on {', '.join(TESTED_VERSIONS)}): " + "; ".join(missing))
    if version not in TESTED_VERSIONS:
        (log or logging.getLogger("comfyui-connect")).warning(
            "ComfyUI-Connect: ComfyUI %s is not a version it was tested on (%s); the internals it needs are present, so it runs",
            shown,
            ", ".join(TESTED_VERSIONS),
        )
    queue = getattr(server, "prompt_queue", None)
    manager = getattr(server, "node_replace_manager", None)
    return Features(
        version=version,
        on_prompt=callable(getattr(server, "trigger_on_prompt", None)),
        replacements=callable(getattr(manager, "apply_replacements", None)),
        atomic_interrupt=callable(getattr(queue, "interrupt_if_running", None)),
    )


def missing_internals(server: Any, execution: Any, nodes: Any) -> list[str]:
    """What the adapter calls that this ComfyUI lacks (or has with another signature), one entry each."""
    queue = getattr(server, "prompt_queue", None)
    checks: list[tuple[str, Any, list[str] | None]] = [
        ("PromptQueue.task_done", getattr(queue, "task_done", None), ["item_id", "history_result", "status"]),
        ("PromptQueue.put", getattr(queue, "put", None), None),
        ("PromptQueue.delete_queue_item", getattr(queue, "delete_queue_item", None), None),
        ("PromptQueue.get_tasks_remaining", getattr(queue, "get_tasks_remaining", None), None),
        ("execution.validate_prompt", getattr(execution, "validate_prompt", None), ["prompt_id", "prompt"]),
        ("PromptServer.send_sync", getattr(server, "send_sync", None), ["event", "data", "sid"]),
        ("nodes.interrupt_processing", getattr(nodes, "interrupt_processing", None), None),
    ]
    missing = [problem for name, found, params in checks if (problem := _signature_problem(name, found, params))]
    for owner, target, attributes in (
        ("PromptQueue", queue, ("mutex", "queue", "currently_running", "history")),
        ("PromptServer", server, ("number", "routes", "app", "loop")),
        ("nodes", nodes, ("NODE_CLASS_MAPPINGS",)),
    ):
        missing += [f"{owner}.{attr} is missing" for attr in attributes if not hasattr(target, attr)]
    return missing


def _signature_problem(name: str, found: Callable[..., Any] | None, params: list[str] | None) -> str | None:
    if not callable(found):
        return f"{name} is missing"
    if params is None:
        return None
    try:
        actual = list(inspect.signature(found).parameters)
    except (TypeError, ValueError):
        return f"{name} has no readable signature"
    return None if actual[: len(params)] == params else f"{name} takes {actual}, not {params}"
