"""Readiness on this box in the management answers, and per endpoint for load balancers.

    GET /api/connect/ready                    adds {"endpoints": {"ready": 12, "not_ready": 1}}: counts only,
                                              as the route needs no key (names and files: per endpoint)

    GET /api/connect/workflows/<name>/ready   200 {"name", "ready": true, "missing": []}
                                              503 unavailable: the instance is not ready (as GET /ready),
                                              or the endpoint names what this ComfyUI lacks (details.missing)

A 503 (not 409 as a refused run) because a load balancer's health check reads the status: this box
cannot serve this endpoint now, another may.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ..errors import Unavailable
from ..workflow.store import SavedWorkflow
from .state import Connect


def with_readiness(described: dict[str, Any], saved: SavedWorkflow, connect: Connect) -> dict[str, Any]:
    """`described` with `ready` and `missing` (reads node definitions, so folders: call it off the loop)."""
    return {**described, **connect.preparer.readiness.of(saved).body()}


async def endpoint_ready(request: web.Request, connect: Connect) -> web.StreamResponse:
    name = request.match_info["name"]
    saved = connect.store.load(name)  # 404 when there is no such workflow
    connect.probe.ready(connect.gate.admission.retry_after)  # the instance itself first (503 unavailable)
    verdict = await asyncio.to_thread(connect.preparer.readiness.of, saved)
    body = {"name": name, **verdict.body()}
    if not verdict.ready:
        raise Unavailable(f"workflow {name!r} is not ready on this ComfyUI; {verdict.summary()}", body)
    return web.json_response(body)


def endpoint_counts(connect: Connect) -> dict[str, int]:
    """How many saved workflows can run here and how many cannot (verdicts reused as a run reuses them)."""
    good, _ = connect.store.load_all()
    verdicts = [connect.preparer.readiness.recent(saved) for saved in good]
    ready = sum(1 for verdict in verdicts if verdict.ready)
    return {"ready": ready, "not_ready": len(verdicts) - ready}
