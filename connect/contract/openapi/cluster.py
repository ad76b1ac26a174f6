"""GET /api/connect/cluster: the instances of the cluster (README "Cluster (preview)")."""

from __future__ import annotations

from typing import Any

from .responses import PREFIX, errors

_GPU = {
    "type": "object",
    "description": "As ComfyUI's /system_stats reports its device (a CPU-only box reports its RAM)",
    "properties": {
        "name": {"type": ["string", "null"]},
        "vram_total": {"type": ["integer", "null"], "description": "bytes"},
        "vram_free": {"type": ["integer", "null"], "description": "bytes"},
    },
}
_MODEL = {
    "type": "object",
    "properties": {"class_type": {"type": "string"}, "input": {"type": "string"}, "model": {"type": "string"}},
}
INSTANCE = {
    "type": "object",
    "description": "An instance's last heartbeat; it leaves the list a few heartbeats after it stops",
    "required": ["id", "role", "state"],
    "properties": {
        "id": {"type": "string", "description": "CONNECT_INSTANCE_ID, default <hostname>:<port>"},
        "role": {"enum": ["api", "worker", "both"]},
        "state": {"enum": ["idle", "busy", "stalled"], "description": "stalled: ComfyUI's prompt worker thread is dead"},
        "connect_version": {"type": "string"},
        "comfyui_version": {"type": ["string", "null"]},
        "gpu": _GPU,
        "queue_depth": {"type": "integer"},
        "cached_models": {"type": "array", "items": _MODEL, "description": "model files its `!cache` nodes keep loaded"},
        "workflows": {"type": "integer", "description": "workflows in its store"},
        "started_at": {"type": "number", "description": "Unix time"},
        "seen_at": {"type": "number", "description": "Unix time of this heartbeat"},
    },
}
LISTING = {
    "type": "object",
    "required": ["enabled", "instances"],
    "properties": {
        "enabled": {"type": "boolean", "description": "false: CONNECT_CLUSTER_URL is not set (then nothing else is said)"},
        "instance": {"type": "string", "description": "the instance that answered"},
        "role": {"enum": ["api", "worker", "both"]},
        "redis": {"enum": ["up", "down"], "description": "down: only the answering instance is listed, from its own state"},
        "redis_url": {"type": "string", "description": "without its password"},
        "since": {"type": "number", "description": "Unix time Redis went up or down"},
        "error": {"type": "string", "description": "why Redis is down"},
        "instances": {"type": "array", "items": INSTANCE},
    },
}


def cluster_paths() -> dict[str, Any]:
    operation = {
        "operationId": "cluster",
        "summary": "The live instances of the cluster and their heartbeats (an admin key when keys are on)",
        "tags": ["service"],
        "responses": {
            "200": {"description": "Instances", "content": {"application/json": {"schema": LISTING}}},
            **errors(()),
        },
    }
    return {f"{PREFIX}/cluster": {"get": operation}}
