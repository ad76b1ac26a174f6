"""The queues work waits in, as the statistics page and the autoscaling signal see them.

    "queues": {"<stream>": {"depth": 3, "oldest_age": 12.5, "pending": 1, "dead_lettered": 0,
                            "workflows": {"txt2img": {"depth": 3, "oldest_age": 12.5}}}}

depth: jobs waiting to be taken; oldest_age: seconds the oldest of them has waited (null: none waits);
pending: taken by a worker and not yet finished (Redis Streams' pending entries); dead_lettered: jobs
given up on after too many reclaims.

``ClusterQueues`` is what the distributed job queue implements (one entry per Redis stream: jobqueue.py
reads connect:jobs; plugin.py hands it to the overview in a cluster). Without one (a cluster view built
with no job queue) each instance's own queue stands in: the Connect jobs waiting on its ComfyUI
(``RunStats.queue``), published in its heartbeat and listed here as ``local:<instance>`` (``member_queues``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class WorkflowQueue:
    depth: int
    oldest_age: float | None


@dataclass(frozen=True)
class QueueStats:
    depth: int
    oldest_age: float | None
    pending: int
    dead_lettered: int
    workflows: Mapping[str, WorkflowQueue] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "oldest_age": _rounded(self.oldest_age),
            "pending": self.pending,
            "dead_lettered": self.dead_lettered,
            "workflows": {n: {"depth": w.depth, "oldest_age": _rounded(w.oldest_age)} for n, w in sorted(self.workflows.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QueueStats:
        workflows = {n: WorkflowQueue(int(w.get("depth", 0)), w.get("oldest_age")) for n, w in dict(data.get("workflows", {})).items()}
        return cls(
            int(data.get("depth", 0)), data.get("oldest_age"), int(data.get("pending", 0)), int(data.get("dead_lettered", 0)), workflows
        )


class ClusterQueues(Protocol):
    async def queues(self) -> dict[str, QueueStats]:
        """Every queue of the cluster by name (a Redis stream's), as it is now."""


def member_queues(members: Iterable[Mapping[str, Any]]) -> dict[str, QueueStats]:
    """Phase 1 (no shared queue): each live instance's own queue, from its last heartbeat."""
    return {f"local:{m['id']}": QueueStats.from_json(m["queue"]) for m in members if isinstance(m.get("queue"), Mapping)}


def by_workflow(queues: Iterable[QueueStats]) -> dict[str, WorkflowQueue]:
    """Every queue's waiting jobs added up per workflow; the oldest wait is the longest anywhere."""
    merged: dict[str, WorkflowQueue] = {}
    for queue in queues:
        for name, wq in queue.workflows.items():
            seen = merged.get(name, WorkflowQueue(0, None))
            ages = [a for a in (seen.oldest_age, wq.oldest_age) if a is not None]
            merged[name] = WorkflowQueue(seen.depth + wq.depth, max(ages) if ages else None)
    return merged


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
