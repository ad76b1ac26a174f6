"""GET /api/connect/cluster: the instances of the cluster, their statistics, the queues and the autoscaling
signal; and its page (README "Cluster (preview)", "Cluster statistics")."""

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
_NUMBER = {"type": ["number", "null"]}
_WAITING = {"type": "object", "properties": {"depth": {"type": "integer"}, "oldest_age": _NUMBER}}
QUEUE = {
    "type": "object",
    "description": "depth: jobs waiting; oldest_age: seconds the oldest has waited; pending: taken and not finished",
    "properties": {
        "depth": {"type": "integer"},
        "oldest_age": _NUMBER,
        "pending": {"type": "integer"},
        "dead_lettered": {"type": "integer"},
        "workflows": {"type": "object", "additionalProperties": _WAITING},
    },
}
_STATISTICS = {
    "loaded_models": {"type": "array", "items": {"type": "string"}, "description": "model classes ComfyUI holds loaded"},
    "heartbeat_age": {"type": "number", "description": "seconds since its last heartbeat"},
    "queue": QUEUE,
    "current": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "job": {"type": "string"},
                "workflow": {"type": "string"},
                "running_seconds": {"type": "number"},
                "progress": {"type": ["object", "null"]},
            },
        },
    },
    "jobs_per_minute": {"type": "number", "description": "jobs finished a minute, over the last 5 minutes"},
    "runs": {"type": "integer", "description": "jobs finished in the last hour"},
    "failures": {"type": "integer", "description": "jobs failed in the last hour"},
    "cancelled": {"type": "integer"},
    "reclaims": {"type": "integer", "description": "jobs taken from it and given to another instance in the last hour"},
    "mean_run_seconds": _NUMBER,
    "by_workflow": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "runs": {"type": "integer"},
                "failures": {"type": "integer"},
                "mean_run_seconds": _NUMBER,
                "arrivals_per_minute": {"type": "number"},
            },
        },
    },
    "recent_failures": {"type": "array", "items": {"type": "object"}},
    "minutes": {
        "type": "object",
        "description": "the last hour, a minute an entry, oldest first: finished, failed, mean_run_seconds (null: no run)",
        "properties": {"start": {"type": "integer", "description": "Unix time of the first minute"}, "step": {"type": "integer"}},
    },
}
AUTOSCALE = {
    "type": "object",
    "description": "workers_needed = ceil(sum over workflows of arrivals a second x mean run time / target_utilisation)",
    "properties": {
        "workers": {"type": "integer"},
        "workers_needed": {"type": "integer"},
        "busy_workers": {"type": "number"},
        "target_utilisation": {"type": "number"},
        "workflows": {"type": "object", "additionalProperties": {"type": "object"}},
    },
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
        **_STATISTICS,
    },
}
LISTING = {
    "type": "object",
    "required": ["enabled", "instances"],
    "properties": {
        "enabled": {"type": "boolean", "description": "false: CONNECT_CLUSTER_URL is not set (this machine is the one instance listed)"},
        "instance": {"type": "string", "description": "the instance that answered"},
        "role": {"enum": ["api", "worker", "both"]},
        "redis": {"enum": ["up", "down"], "description": "down: only the answering instance is listed, from its own state"},
        "redis_url": {"type": "string", "description": "without its password"},
        "since": {"type": "number", "description": "Unix time Redis went up or down"},
        "error": {"type": "string", "description": "why Redis is down"},
        "instances": {"type": "array", "items": INSTANCE},
        "queues": {"type": "object", "additionalProperties": QUEUE, "description": "by queue name (local:<instance> in phase 1)"},
        "autoscale": AUTOSCALE,
    },
}


def cluster_paths() -> dict[str, Any]:
    operation = {
        "operationId": "cluster",
        "summary": "The live instances with their statistics, the queues and the autoscaling signal (an admin key when keys are on)",
        "tags": ["service"],
        "responses": {
            "200": {"description": "Instances", "content": {"application/json": {"schema": LISTING}}},
            **errors(()),
        },
    }
    page = {
        "operationId": "cluster_dashboard",
        "summary": "The cluster's statistics page (HTML, live; an admin key or the login cookie when keys are on)",
        "tags": ["service"],
        "responses": {"200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}, **errors(())},
    }
    return {f"{PREFIX}/cluster": {"get": operation}, f"{PREFIX}/cluster/dashboard": {"get": page}}
