"""Job events shared by the cluster: written by the worker that runs the job, read on any instance.

The worker's ComfyUI messages are translated by the plain ``EventHub`` (run/events.py), as on one
machine; every event of a job this worker holds is then appended to the job's Redis stream (jobdb.py
EVENT, fenced: a worker that lost its lease adds nothing). Appends go through one ordered queue, so a
reader sees them in the order they happened. The numbering (SSE ``id``) is Redis's, per job, so it
continues across attempts; ``Last-Event-ID`` replays from any instance.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from ..run.events import EventHub, Feed
from .jobdb import FINAL, JobDb
from .view import Unreachable, stop_if_cancelled

log = logging.getLogger("comfyui-connect")
_LOCAL_ONLY = ("queued", "position")  # the cluster's queue is not this ComfyUI's: the api side said "queued"
_BLOCK_MS = 1000  # one blocking read; below the link's socket timeout


class ClusterEvents(EventHub):
    """``JobEvents`` of an instance in a cluster."""

    def __init__(self, positions: Callable[[], dict[str, int]], db: JobDb, me: str) -> None:
        super().__init__(positions)
        self._db = db
        self._me = me
        self.running: dict[str, int] = {}  # job id -> attempt, of the jobs this worker holds
        self.remote_progress: dict[str, dict[str, Any]] = {}  # as last read from Redis (jobs.py); bounded there
        self._outbox: asyncio.Queue[tuple[str, int, str, str, str] | asyncio.Future[None]] | None = None
        self._sender: asyncio.Task[None] | None = None

    # -- the worker side --------------------------------------------------------------------------------
    def _publish(self, feed: Feed, name: str, data: Mapping[str, Any]) -> None:
        super()._publish(feed, name, data)
        attempt = self.running.get(feed.job_id)
        if attempt is None or name in _LOCAL_ONLY or name in FINAL:
            return
        progress = json.dumps(feed.progress) if feed.progress is not None else ""
        self._queue().put_nowait((feed.job_id, attempt, name, json.dumps(data, separators=(",", ":")), progress))

    async def flush(self) -> None:
        """Return once every event published so far is in Redis (or was refused)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue().put_nowait(done)
        await done

    def _queue(self) -> asyncio.Queue[tuple[str, int, str, str, str] | asyncio.Future[None]]:
        if self._outbox is None:
            self._outbox = asyncio.Queue()
            self._sender = asyncio.ensure_future(self._send_forever(self._outbox))
        return self._outbox

    async def _send_forever(self, outbox: asyncio.Queue[tuple[str, int, str, str, str] | asyncio.Future[None]]) -> None:
        while True:
            items = [await outbox.get()]
            while not outbox.empty():  # what piled up meanwhile goes in one round trip
                items.append(outbox.get_nowait())
            events = [item for item in items if not isinstance(item, asyncio.Future)]
            if events:
                try:
                    await self._db.event_batch(self._me, events)
                except Unreachable:  # lost: a reader sees the job's state, and the final event comes with the commit
                    log.warning("ComfyUI-Connect: %d events of job %s not stored: Redis unreachable", len(events), events[0][0])
            for item in items:
                if isinstance(item, asyncio.Future) and not item.done():
                    item.set_result(None)

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)

    # -- any instance ----------------------------------------------------------------------------------
    def known(self, job_id: str) -> bool:
        return True  # the job was read from Redis (http/jobs.py found it): its events are there too

    def position(self, job_id: str) -> int | None:
        return None

    def progress(self, job_id: str) -> dict[str, Any] | None:
        if job_id in self.running:
            return super().progress(job_id)
        return self.remote_progress.get(job_id)

    async def stream(self, job_id: str, after: int, heartbeat: float) -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        last = "0-0"
        waited = 0.0
        first = True
        while True:
            stop_if_cancelled()
            try:
                found = await self._db.events(job_id, last, None if first else min(_BLOCK_MS, int(heartbeat * 1000)))
            except Unreachable:
                return  # the reader reconnects with Last-Event-ID once Redis is back
            first = False
            for entry_id, seq, name, data in found:
                last = entry_id
                if seq > after:
                    yield f"id: {seq}\nevent: {name}\ndata: {data}\n\n"
                if name in FINAL:
                    return
            if found:
                waited = 0.0
                continue
            waited += min(_BLOCK_MS / 1000, heartbeat)
            if waited >= heartbeat:
                waited = 0.0
                yield ": keep-alive\n\n"
