"""GET /api/connect/cluster: every instance with its statistics, the queues, and the autoscaling signal.

    {"enabled": true, "instance": "box-a", "role": "both", "redis": "up", ...,   (the cluster's status)
     "instances": [{"id", "role", "state", "heartbeat_age", "comfyui_version", "gpu", "loaded_models",
                    "cached_models", "queue_depth", "queue", "current", "jobs_per_minute", "runs",
                    "failures", "reclaims", "mean_run_seconds", "by_workflow", "recent_failures",
                    "minutes"}, ...],
     "queues": {"<name>": {"depth", "oldest_age", "pending", "dead_lettered", "workflows"}},
     "autoscale": {"workers", "workers_needed", "busy_workers", "target_utilisation", "workflows"}}

In a cluster each instance's entry is its last heartbeat (cluster/members.py, with its RunStats
snapshot); on one machine without a cluster the listing holds that one instance, built the same way,
so the statistics page works on a single box too (`"enabled": false`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

from ..cluster.demand import merge, signal
from ..cluster.members import cached_models, heartbeat
from ..cluster.queues import ClusterQueues, QueueStats, by_workflow, member_queues
from ..cluster.stats import Progress, RunStats
from ..cluster.view import ClusterView, Unreachable
from ..comfy.engine import Host
from ..workflow.store import Workflows
from .metrics import Gauge
from .signals import autoscale_gauges

RUNS_JOBS = ("worker", "both")
REREAD = 30.0  # seconds a single box keeps what it read of its workflows (a save through the API clears it at once)


class Overview:
    def __init__(
        self,
        stats: RunStats,
        engine: Host,
        store: Workflows,
        progress: Callable[[], Progress],
        cluster: ClusterView | None,
        target: float,
        version: str,
        queues: ClusterQueues | None = None,  # the shared job queue's, once jobs are distributed
    ) -> None:
        self.stats = stats
        self._engine = engine
        self._store = store
        self._progress = progress
        self._cluster = cluster
        self._target = target
        self._version = version
        self.queues = queues
        self._started = time.time()
        self._name: str | None = None
        # `!cache` models and workflow count, and when they were read: until a change, or 30 s (a file edited by hand)
        self._cached: tuple[list[dict[str, str]], int, float] | None = None

    async def instance(self) -> str:
        """The cluster instance id, or host:port on one box (ComfyUI's port is known once it parsed its arguments)."""
        if self._cluster is not None:
            return str(self._cluster.status()["instance"])
        if self._name is None:
            machine = await asyncio.to_thread(self._engine.machine)
            self._name = f"{socket.gethostname()}:{machine['port']}"
        return self._name

    def workflows_changed(self) -> None:
        self._cached = None

    def local(self) -> dict[str, Any]:
        """This instance's statistics, as its heartbeat carries them."""
        return self.stats.snapshot(self._progress())

    async def listing(self) -> dict[str, Any]:
        now = time.time()
        if self._cluster is not None:
            found = await self._cluster.listing()
        else:
            found = {"instance": await self.instance(), "role": "both", "instances": [await self._itself()]}
        instances = [{**m, "heartbeat_age": round(max(0.0, now - float(m.get("seen_at") or now)), 3)} for m in found["instances"]]
        queues = await self._queues(instances)
        demands = merge(instances, by_workflow(queues.values()))
        workers = sum(1 for m in instances if m.get("role") in RUNS_JOBS)
        return {
            **found,
            "enabled": self._cluster is not None,
            "instances": instances,
            "queues": {name: q.as_json() for name, q in sorted(queues.items())},
            "autoscale": signal(demands, self._target, workers),
        }

    async def gauges(self) -> tuple[str, list[Gauge]]:
        """The instance label and the autoscaling gauges for /metrics."""
        return await self.instance(), autoscale_gauges((await self.listing())["autoscale"])

    async def _queues(self, instances: list[dict[str, Any]]) -> dict[str, QueueStats]:
        if self.queues is not None:
            try:
                return await self.queues.queues()
            except Unreachable:
                pass  # Redis is down: what the heartbeats last said (the listing says Redis is down)
        if self._cluster is not None:
            return member_queues(instances)
        return {"local": self.stats.queue()}

    async def _itself(self) -> dict[str, Any]:
        machine = await asyncio.to_thread(self._engine.machine)
        if self._cached is None or time.monotonic() - self._cached[2] > REREAD:  # not every workflow at each poll
            good, _ = await asyncio.to_thread(self._store.load_all)
            self._cached = cached_models(good, self._engine.node_spec), len(good), time.monotonic()
        cached, workflows, _ = self._cached
        beat = heartbeat(
            await self.instance(),
            "both",
            self._version,
            machine,
            self._engine.queue_depth(),
            self._engine.worker_alive(),
            cached,
            workflows,
            self._started,
        )
        return {**beat, **self.local()}
