"""The cluster's job queue as the statistics page sees it (``ClusterQueues``, queues.py), read from Redis.

    queues = RedisQueues(db, jobs_ttl)
    await queues.queues()   # {"connect:jobs": QueueStats(depth, oldest_age, pending, dead_lettered, workflows)}

depth: entries of connect:jobs the group ``workers`` has not delivered yet (XLEN less the pending ones:
ended jobs' entries are deleted, jobdb.py); pending: entries a worker holds (XPENDING's count, leases that
lapsed included until another worker reclaims them); oldest_age: from the first waiting entry's id, whose
first part is the millisecond Redis added it, against Redis's own clock (no skew between boxes);
dead_lettered: jobs given up on (connect:jobs:dead) whose records are still kept. Per workflow from the
``workflow`` field of the waiting entries (the first SCAN_CAP of them: a backlog larger than that is
still counted whole in ``depth``).
"""

from __future__ import annotations

import time
from typing import Any

from .jobdb import DEAD, GROUP, STREAM, JobDb
from .queues import QueueStats, WorkflowQueue

SCAN_CAP = 10_000
UNKNOWN = "?"  # entries queued before the stream carried the workflow


class RedisQueues:
    def __init__(self, db: JobDb, jobs_ttl: float) -> None:
        self._db = db
        self._ttl = jobs_ttl

    async def queues(self) -> dict[str, QueueStats]:
        await self._db.ensure_group()
        client = self._db.client

        async def read_group() -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                pipe.time()
                pipe.xlen(STREAM)
                pipe.xinfo_groups(STREAM)
                pipe.zremrangebyscore(DEAD, "-inf", time.time() - self._ttl)  # their records have expired
                pipe.zcard(DEAD)
                return list(await pipe.execute())

        (seconds, micros), length, groups, _, dead = await self._db.link.call(read_group)
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        group = next((g for g in groups if _text(g.get("name", b"")) == GROUP), None)
        pending = int(group.get("pending") or 0) if group is not None else 0
        last = _text(group.get("last-delivered-id", b"0-0")) if group is not None else "0-0"
        waiting = await self._db.link.call(lambda: client.xrange(STREAM, min="(" + last, max="+", count=SCAN_CAP))
        workflows: dict[str, WorkflowQueue] = {}
        oldest: float | None = None
        for entry_id, fields in waiting:
            age = max(0.0, (now_ms - int(_text(entry_id).split("-")[0])) / 1000.0)
            oldest = age if oldest is None else max(oldest, age)
            name = _text(fields.get(b"workflow", b"")) or UNKNOWN
            seen = workflows.get(name)
            # entries come oldest first: a workflow's first one is its oldest wait
            workflows[name] = WorkflowQueue(1, age) if seen is None else WorkflowQueue(seen.depth + 1, seen.oldest_age)
        depth = max(int(length) - pending, len(waiting))
        return {STREAM: QueueStats(depth, oldest, pending, int(dead), workflows)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
