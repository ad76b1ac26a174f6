"""This instance as a member of the cluster: its heartbeat task, its workflow sync, its listing.

Built by plugin.py only when CONNECT_CLUSTER_URL is set. Everything runs on ComfyUI's event loop; each
Redis call is awaited (never blocking) and files are read and written in worker threads. The heartbeat
runs on the loop on purpose: an instance whose loop stalls cannot answer HTTP either, so it is right
that the others see it gone (the job lease of the next phase needs a thread; membership does not).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..comfy.engine import Host
from ..workflow.store import WorkflowStore
from .link import RedisLink, shown_url
from .members import cached_models, heartbeat
from .sync import RETRY, SyncedWorkflows
from .view import Connection, Unreachable, stop_if_cancelled

MISSED_BEATS = 4  # an instance is gone this many heartbeats after its last one
REJUDGE_BEATS = 4  # a worker's readiness report is judged again this often (and at once when workflows change)


class Cluster:
    """Implements ``ClusterView`` (view.py)."""

    def __init__(
        self,
        url: str,
        role: str,
        instance: str,
        every: float,
        local: WorkflowStore,
        engine: Host,
        version: str,
        stats: Callable[[], dict[str, Any]] = dict,  # this instance's statistics (ops/overview.py), sent with each heartbeat
    ) -> None:
        self.role = role
        self._stats = stats
        self.every = every
        self._instance = instance
        self._engine = engine
        self._version = version
        self.connection = Connection(shown_url(url))
        self._link = RedisLink(url, self.connection, timeout=max(5.0, 2 * every))
        self.store = SyncedWorkflows(local, self._link)
        self._cached: list[dict[str, str]] | None = None
        self._started = time.time()
        self._tasks: list[asyncio.Task[Any]] = []  # held: a task nobody references may be collected
        self._closers: list[Callable[[], Awaitable[None]]] = []  # the job engine's (jobwiring.py), run by stop()
        # The job this instance runs and the cluster's queue, for the heartbeat (set by jobwiring.py).
        self.running: Callable[[], dict[str, Any] | None] = lambda: None
        self.queued: Callable[[], Awaitable[int | None]] | None = None
        # A worker's report of the endpoints it cannot run (fitness.unready; set by jobwiring.py; reads folders).
        self.unready: Callable[[], dict[str, Any]] | None = None
        self._unready: dict[str, Any] | None = None
        self._beats = 0

    @property
    def link(self) -> RedisLink:
        return self._link

    def adopt(self, task: asyncio.Task[Any], closer: Callable[[], Awaitable[None]] | None = None) -> None:
        """Keep a task of the job engine (cancelled by stop()), and what else stop() must close."""
        self._tasks.append(task)
        if closer is not None:
            self._closers.append(closer)

    @property
    def instance(self) -> str:
        # The default name needs ComfyUI's port, known once its arguments are parsed.
        if not self._instance:
            self._instance = f"{socket.gethostname()}:{self._engine.machine()['port']}"
        return self._instance

    def start(self, loop: asyncio.AbstractEventLoop, workflows_changed: Callable[[], None]) -> None:
        def changed() -> None:
            self._cached = None
            self._unready = None
            workflows_changed()

        self.store.on_change = changed
        for job in (self.store.run(), self.store.push_forever(), self._beat_forever()):
            self._tasks.append(loop.create_task(job))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for close in self._closers:
            await close()
        await self._link.close()

    async def _beat_forever(self) -> None:
        while True:
            stop_if_cancelled()
            try:
                await self._link.beat(self.instance, await self._heartbeat(), self.every * MISSED_BEATS, time.time())
            except Unreachable:
                await asyncio.sleep(RETRY)
                continue
            await asyncio.sleep(self.every)

    async def _heartbeat(self) -> dict[str, Any]:
        machine = await asyncio.to_thread(self._engine.machine)
        if self._cached is None:
            good, _ = await asyncio.to_thread(self.store.load_all)
            self._cached = cached_models(good, self._engine.node_spec)
        beat = heartbeat(
            self.instance,
            self.role,
            self._version,
            machine,
            self._engine.queue_depth(),
            self._engine.worker_alive(),
            self._cached,
            len(await asyncio.to_thread(self.store.names)),
            self._started,
            self.running(),
            await self._queued(),
        )
        return {**beat, **self._stats(), **await self._readiness()}

    async def _readiness(self) -> dict[str, Any]:
        """{"unready": {...}} for a worker (judged again every few beats: a model file copied in counts), else {}."""
        if self.unready is None:
            return {}
        if self._unready is None or self._beats % REJUDGE_BEATS == 0:
            self._unready = await asyncio.to_thread(self.unready)
        self._beats += 1
        return {"unready": self._unready}

    async def _queued(self) -> int | None:
        if self.queued is None:
            return None
        try:
            return await self.queued()
        except Unreachable:
            return None

    def status(self) -> dict[str, Any]:
        return {"instance": self.instance, "role": self.role, **self.connection.state()}

    async def listing(self) -> dict[str, Any]:
        try:
            members = await self._link.members()
        except Unreachable:
            # What this instance knows for sure: itself. The others may be alive; Redis cannot say.
            return {**self.status(), "instances": [await self._heartbeat()]}
        return {**self.status(), "instances": sorted(members, key=lambda m: str(m.get("id")))}
