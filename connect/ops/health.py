"""Liveness and readiness.

GET /api/connect/health   200 while the HTTP server answers (and says whether the worker lives)
GET /api/connect/ready    200 when a run would be taken now; 503 when ComfyUI's queue is over the
                          threshold or its prompt worker thread is dead (then nothing ever runs
                          again until ComfyUI restarts, while every HTTP route keeps answering);
                          in a cluster it also says whether Redis answers
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import Unavailable


@dataclass(frozen=True)
class Probe:
    queue_depth: Callable[[], int]
    worker_alive: Callable[[], bool]
    ready_max_queue: int
    started: float  # time.monotonic() at setup
    version: str
    # In a cluster: this instance's view of it. A Redis that does not answer does not make the instance
    # unready: it keeps serving the workflows it has (README "Cluster (preview)").
    cluster: Callable[[], dict[str, Any]] | None = field(default=None)

    def health(self, now: float) -> dict[str, Any]:
        return {
            "status": "ok",
            "version": self.version,
            "uptime_seconds": round(now - self.started, 3),
            "worker_alive": self.worker_alive(),
        }

    def ready(self, retry_after: Callable[[int], int]) -> dict[str, Any]:
        depth, alive = self.queue_depth(), self.worker_alive()
        reasons = []
        if not alive:
            reasons.append("ComfyUI's prompt worker thread is not running; restart ComfyUI")
        if depth > self.ready_max_queue:
            reasons.append(f"the queue holds {depth} prompts, over the threshold of {self.ready_max_queue}")
        state: dict[str, Any] = {"queue_depth": depth, "threshold": self.ready_max_queue, "worker_alive": alive}
        if self.cluster is not None:
            state["cluster"] = self.cluster()
        if reasons:
            headers = {"Retry-After": str(retry_after(depth - self.ready_max_queue))} if alive else {}
            raise Unavailable("not ready: " + "; ".join(reasons), {**state, "reasons": reasons}, headers)
        return {"status": "ready", **state}
