"""Workflows shared by every instance: Redis holds the truth, each instance's files are its cache.

A save or delete is written to the local store at once (the caller's answer never waits on Redis), and
pushed by a task: one Lua call gives it the next version number, stores it and appends it to a stream
of changes. Every instance follows that stream and copies each change into its own store, byte for
byte, so the content hash (sha256 of the file) is the same everywhere. Conflicts: the last write to
reach Redis wins (the version counter orders them); a save made elsewhere meanwhile is overwritten.

When Redis is unreachable the local store keeps serving and local changes wait; on reconnect they are
pushed first, then the instance resyncs from the hash: deleted names (tombstones) go, changed ones are
copied, and a name Redis has never seen (a file the instance had before it joined) is pushed, so the
first instance seeds the cluster and one that joins late gets everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from ..errors import ConnectError
from ..workflow.store import Metadata, SavedWorkflow, WorkflowStore
from .link import RedisLink, Stamp
from .view import Unreachable, stop_if_cancelled

log = logging.getLogger("comfyui-connect")
RETRY = 1.0  # seconds between two attempts to reach Redis


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SyncedWorkflows:
    """The ``Workflows`` store (workflow/store.py) of an instance in a cluster."""

    def __init__(self, local: WorkflowStore, link: RedisLink) -> None:
        self.local = local
        self._link = link
        self._pending: dict[str, None] = {}  # names changed here and not yet in Redis, oldest first
        self._wake = asyncio.Event()
        self._pushing = asyncio.Lock()  # push_forever() and run() both push; one at a time
        self.on_change: Callable[[], None] = lambda: None  # told when another instance changed a workflow

    # -- Workflows: reads are local; writes are local, then pushed -------------------------------------
    def check(self, name: str) -> None:
        self.local.check(name)

    def save(
        self, name: str, prompt: Any, workflow: Any = None, timeout: float | None = None, metadata: Metadata | None = None
    ) -> tuple[SavedWorkflow, bool]:
        saved = self.local.save(name, prompt, workflow, timeout, metadata)
        self._changed(name)
        return saved

    def load(self, name: str) -> SavedWorkflow:
        return self.local.load(name)

    def peek(self, name: str) -> SavedWorkflow | None:
        return self.local.peek(name)

    def delete(self, name: str) -> None:
        self.local.delete(name)
        self._changed(name)

    def names(self) -> list[str]:
        return self.local.names()

    def load_all(self) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
        return self.local.load_all()

    def _changed(self, name: str) -> None:
        self._pending.pop(name, None)
        self._pending[name] = None
        self._wake.set()

    # -- the tasks ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Follow the cluster for as long as the plugin runs: push, resync, then apply changes as they come."""
        while True:
            stop_if_cancelled()
            try:
                await self._push()
                await self._follow(await self._resync())
            except Unreachable:  # the link said so (view.Connection); resync once Redis answers
                await asyncio.sleep(RETRY)

    async def push_forever(self) -> None:
        """Push local changes as they happen (run() also pushes them after each reconnect)."""
        while True:
            stop_if_cancelled()
            await self._wake.wait()
            self._wake.clear()
            with contextlib.suppress(Unreachable):  # kept pending: run() pushes it once Redis answers
                await self._push()

    async def _push(self) -> None:
        async with self._pushing:
            await self._push_pending()

    async def _push_pending(self) -> None:
        while self._pending:
            name = next(iter(self._pending))
            # What is on disk now is what this instance holds: a file pushes it, no file deletes it.
            data = await asyncio.to_thread(self.local.raw, name)
            await self._link.put(name, data, digest(data) if data is not None else "")
            self._pending.pop(name, None)

    async def _resync(self) -> str:
        after, stamps = await self._link.snapshot()
        for name, stamp in stamps.items():
            await self._apply(name, stamp)
        for name in await asyncio.to_thread(self.local.names):
            if name not in stamps:  # never seen by the cluster: this instance had it before joining
                self._changed(name)
        await self._push()
        return after

    async def _follow(self, after: str) -> None:
        while True:
            stop_if_cancelled()
            for entry_id, name in await self._link.changes(after, block_ms=2000):
                after = entry_id
                stamp, _ = await self._link.fetch(name)
                if stamp is not None:
                    await self._apply(name, stamp)
            if self._pending:  # pushed by push_forever meanwhile; a failure there is retried here
                await self._push()

    async def _apply(self, name: str, stamp: Stamp) -> None:
        """Make the local copy of `name` what the cluster holds (current state, so replays are harmless)."""
        if name in self._pending:  # a newer local change is on its way: it will win
            return
        try:
            self.local.check(name)
        except ConnectError:
            log.warning("ComfyUI-Connect: ignored cluster workflow %r: not a name this store can hold", name)
            return
        local = await asyncio.to_thread(self.local.raw, name)
        if not stamp.hash:
            if local is not None:
                await asyncio.to_thread(self.local.remove, name)
                self.on_change()
            return
        if local is not None and digest(local) == stamp.hash:
            return
        current, data = await self._link.fetch(name)
        if current is None or data is None or name in self._pending:
            return  # deleted or changed again meanwhile: its own change entry follows
        await asyncio.to_thread(self.local.write_raw, name, data)
        self.on_change()
