"""One start at a time per Idempotency-Key scope.

    async with locks.hold(scope):          # a second call with the same scope waits here
        earlier = await store.find(scope)  # ... so it finds the job the first one started

``IdempotencyLock`` is what a backend implements (a cluster-wide one claims the scope in a shared
store); ``LocalIdempotencyLock`` serializes the calls of this process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class IdempotencyLock(Protocol):
    def hold(self, scope: str) -> AbstractAsyncContextManager[None]:
        """Held by one caller per scope at a time; released when the block ends, even by an error."""


class LocalIdempotencyLock:
    def __init__(self) -> None:
        self._held: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._held)

    @asynccontextmanager
    async def hold(self, scope: str) -> AsyncIterator[None]:
        while (holder := self._held.get(scope)) is not None:
            await asyncio.shield(holder)  # shielded: a waiter that is cancelled must not cancel the holder's future
        released: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._held[scope] = released
        try:
            yield
        finally:
            del self._held[scope]
            released.set_result(None)
