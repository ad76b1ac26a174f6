"""Caps on what one call may ask of the machine.

- Admission: runs in flight per client (a job holds its slot until it ends) (an API key, or the remote address without keys) and
  prompts on ComfyUI's queue overall. Over the first: 429; over the second: 503; both carry
  ``Retry-After`` (seconds, estimated from recent run times).
- Batch: a caller may give an exposed input named ``batch_size`` at most ``max_batch``.

The counting itself is ``AdmissionCounters``, the interface a backend implements (a cluster-wide one
counts in a shared store); ``LocalCounters`` counts this process's runs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import LimitExceeded, TooManyRequests, Unavailable

BATCH_INPUTS = ("batch_size",)


class Slot:
    """One run in flight. A job that outlives its request detaches the slot and gives it back when it ends."""

    def __init__(self, give_back: Callable[[], None], client: str = "") -> None:
        self._give_back: Callable[[], None] | None = give_back
        self.detached = False
        self.client = client  # whose run it is (a cluster counts it again, cluster-wide: connect/cluster/jobdb.py)

    def detach(self) -> Callable[[], None]:
        self.detached = True
        return self.release

    def release(self) -> None:
        give_back, self._give_back = self._give_back, None
        if give_back is not None:
            give_back()


@dataclass(frozen=True)
class Count:
    taken: bool  # the run got its slot
    mine: int  # the client's runs in flight before this one
    depth: int  # what the overall limit was checked against: the queue, or the runs in flight if more


class AdmissionCounters(Protocol):
    def take(self, client: str, max_per_client: int, max_queue: int, queue_depth: int) -> Count:
        """Count one more run for `client` if both limits allow it, checked and counted at once."""

    def give_back(self, client: str) -> None: ...

    def total(self) -> int:
        """Runs in flight, every client's."""


class LocalCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    def take(self, client: str, max_per_client: int, max_queue: int, queue_depth: int) -> Count:
        with self._lock:
            mine = self._in_flight.get(client, 0)
            depth = max(queue_depth, sum(self._in_flight.values()))
            taken = mine < max_per_client and depth < max_queue
            if taken:
                self._in_flight[client] = mine + 1
            return Count(taken, mine, depth)

    def give_back(self, client: str) -> None:
        with self._lock:
            self._in_flight[client] -= 1
            if not self._in_flight[client]:
                del self._in_flight[client]

    def total(self) -> int:
        with self._lock:
            return sum(self._in_flight.values())


class Admission:
    def __init__(
        self,
        max_queue: int,
        max_per_client: int,
        queue_depth: Callable[[], int],
        seconds_per_run: Callable[[], float],
        counters: AdmissionCounters | None = None,
    ) -> None:
        self.max_queue = max_queue
        self.max_per_client = max_per_client
        self._queue_depth = queue_depth
        self._seconds_per_run = seconds_per_run
        self._counters: AdmissionCounters = LocalCounters() if counters is None else counters

    @property
    def in_flight(self) -> int:
        return self._counters.total()

    def retry_after(self, runs_ahead: int) -> int:
        return max(1, min(60, math.ceil(self._seconds_per_run() * max(runs_ahead, 1))))

    @contextmanager
    def slot(self, client: str) -> Iterator[Slot]:
        self._take(client)
        slot = Slot(lambda: self._counters.give_back(client), client)
        try:
            yield slot
        finally:
            if not slot.detached:
                slot.release()

    def _take(self, client: str) -> None:
        count = self._counters.take(client, self.max_per_client, self.max_queue, self._queue_depth())
        if count.taken:
            return
        if count.mine >= self.max_per_client:
            wait = self.retry_after(count.mine - self.max_per_client + 1)
            raise TooManyRequests(
                f"this client already has {count.mine} runs in flight, the most allowed (CONNECT_MAX_QUEUE_PER_CLIENT)",
                {"in_flight": count.mine, "limit": self.max_per_client, "retry_after": wait},
                {"Retry-After": str(wait)},
            )
        wait = self.retry_after(count.depth - self.max_queue + 1)
        raise Unavailable(
            f"ComfyUI's queue holds {count.depth} prompts, the most allowed (CONNECT_MAX_QUEUE); try again later",
            {"queue_depth": count.depth, "limit": self.max_queue, "retry_after": wait},
            {"Retry-After": str(wait)},
        )


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
