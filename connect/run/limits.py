"""Caps on what one call may ask of the machine.

- Admission: runs in flight per client (a job holds its slot until it ends) (an API key, or the remote address without keys) and
  prompts on ComfyUI's queue overall. Over the first: 429; over the second: 503; both carry
  ``Retry-After`` (seconds, estimated from recent run times).
- Batch: a caller may give an exposed input named ``batch_size`` at most ``max_batch``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import LimitExceeded, TooManyRequests, Unavailable

BATCH_INPUTS = ("batch_size",)


class Slot:
    """One run in flight. A job that outlives its request detaches the slot and gives it back when it ends."""

    def __init__(self, give_back: Callable[[], None]) -> None:
        self._give_back: Callable[[], None] | None = give_back
        self.detached = False

    def detach(self) -> Callable[[], None]:
        self.detached = True
        return self.release

    def release(self) -> None:
        give_back, self._give_back = self._give_back, None
        if give_back is not None:
            give_back()


class Admission:
    def __init__(self, max_queue: int, max_per_client: int, queue_depth: Callable[[], int], seconds_per_run: Callable[[], float]) -> None:
        self.max_queue = max_queue
        self.max_per_client = max_per_client
        self._queue_depth = queue_depth
        self._seconds_per_run = seconds_per_run
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    def retry_after(self, runs_ahead: int) -> int:
        return max(1, min(60, math.ceil(self._seconds_per_run() * max(runs_ahead, 1))))

    @contextmanager
    def slot(self, client: str) -> Iterator[Slot]:
        self._take(client)
        slot = Slot(lambda: self._give_back(client))
        try:
            yield slot
        finally:
            if not slot.detached:
                slot.release()

    def _give_back(self, client: str) -> None:
        with self._lock:
            self._in_flight[client] -= 1
            if not self._in_flight[client]:
                del self._in_flight[client]

    def _take(self, client: str) -> None:
        with self._lock:
            mine = self._in_flight.get(client, 0)
            if mine >= self.max_per_client:
                wait = self.retry_after(mine - self.max_per_client + 1)
                raise TooManyRequests(
                    f"this client already has {mine} runs in flight, the most allowed (CONNECT_MAX_QUEUE_PER_CLIENT)",
                    {"in_flight": mine, "limit": self.max_per_client, "retry_after": wait},
                    {"Retry-After": str(wait)},
                )
            depth = max(self._queue_depth(), sum(self._in_flight.values()))
            if depth >= self.max_queue:
                wait = self.retry_after(depth - self.max_queue + 1)
                raise Unavailable(
                    f"ComfyUI's queue holds {depth} prompts, the most allowed (CONNECT_MAX_QUEUE); try again later",
                    {"queue_depth": depth, "limit": self.max_queue, "retry_after": wait},
                    {"Retry-After": str(wait)},
                )
            self._in_flight[client] = mine + 1


def check_batch(payload: Any, max_batch: int) -> None:
    """Refuse a caller's `batch_size` over the cap (saved values are the workflow author's choice)."""
    if not isinstance(payload, dict):
        return
    for group, values in payload.items():
        if not isinstance(values, dict):
            continue
        for name in BATCH_INPUTS:
            value = values.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > max_batch:
                raise LimitExceeded(
                    f"'{group}.{name}': {value} is over the batch limit of {max_batch} (CONNECT_MAX_BATCH)",
                    {"path": f"{group}.{name}", "value": value, "limit": max_batch},
                )
