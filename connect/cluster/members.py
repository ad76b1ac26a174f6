"""An instance's heartbeat: what the others (and next, a router) know of it while it lives."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..comfy.nodespec import SpecLookup
from ..workflow.keepalive import keepalive_nodes
from ..workflow.store import SavedWorkflow

# Files ComfyUI loads as models; a `!cache` node's string input ending so names one it keeps loaded.
MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")


def cached_models(workflows: Iterable[SavedWorkflow], specs: SpecLookup) -> list[dict[str, str]]:
    """The model files the `!cache` nodes (workflow/keepalive.py) keep loaded on this instance."""
    kept = keepalive_nodes(workflows, specs)
    found = {
        (node["class_type"], key, value)
        for node in kept.values()
        for key, value in node.get("inputs", {}).items()
        if isinstance(value, str) and value.lower().endswith(MODEL_SUFFIXES)
    }
    return [{"class_type": c, "input": k, "model": v} for c, k, v in sorted(found)]


def heartbeat(
    instance: str,
    role: str,
    version: str,
    machine: dict[str, Any],
    queue_depth: int,
    worker_alive: bool,
    cached: list[dict[str, str]],
    workflows: int,
    started: float,
    job: dict[str, Any] | None = None,
    cluster_queue: int | None = None,
) -> dict[str, Any]:
    state = "stalled" if not worker_alive else "busy" if queue_depth or job else "idle"
    return {
        "id": instance,
        "role": role,
        "state": state,
        "connect_version": version,
        "comfyui_version": machine.get("comfyui_version"),
        "gpu": {"name": machine.get("device"), "vram_total": machine.get("vram_total"), "vram_free": machine.get("vram_free")},
        "queue_depth": queue_depth,
        "cached_models": cached,
        "workflows": workflows,
        "started_at": round(started, 3),
        "job": job,  # the cluster job it runs: {"id", "workflow", "attempt", "progress"} (None when idle)
        "cluster_queue": cluster_queue,  # cluster jobs no worker has taken yet
        "seen_at": round(time.time(), 3),
    }
