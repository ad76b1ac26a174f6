"""What the rest of the plugin sees of the cluster, without Redis: its protocol and its health.

redis-py is imported only by link.py, and link.py only when CONNECT_CLUSTER_URL is set (plugin.py), so
a single machine never pays for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("comfyui-connect")


class Unreachable(Exception):
    """Redis did not answer (refused, timed out, closed): the instance serves what it has and retries."""


class ClusterView(Protocol):
    def status(self) -> dict[str, Any]:
        """This instance's view: its id, role and whether Redis answers (for /ready)."""

    async def listing(self) -> dict[str, Any]:
        """Every live instance's last heartbeat (GET /api/connect/cluster)."""


@dataclass
class Connection:
    """Whether Redis answers, changed by whoever last talked to it; logs each change once, not each retry."""

    url: str  # without its password: it is shown in logs and answers
    up: bool = False
    since: float = field(default_factory=time.time)
    error: str | None = "not connected yet"
    _said_down: bool = False

    def ok(self) -> None:
        if not self.up:
            self.up, self.since, self.error = True, time.time(), None
            if self._said_down:
                log.warning("ComfyUI-Connect: the cluster's Redis at %s answers again; workflows resync", self.url)
            else:
                log.info("ComfyUI-Connect: joined the cluster on Redis at %s", self.url)
            self._said_down = False

    def failed(self, reason: str) -> None:
        if self.up or not self._said_down:
            log.warning(
                "ComfyUI-Connect: the cluster's Redis at %s is unreachable (%s); serving local workflows, retrying", self.url, reason
            )
            self._said_down = True
        if self.up:
            self.since = time.time()
        self.up, self.error = False, reason

    def state(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"redis": "up" if self.up else "down", "redis_url": self.url, "since": round(self.since, 3)}
        if self.error:
            shown["error"] = self.error
        return shown


def stop_if_cancelled() -> None:
    """End the calling task if it was asked to stop.

    redis-py reads under a socket timeout (asyncio.timeout): a cancellation landing as that timeout fires
    is taken for the timeout on Python 3.11, and the read is retried. A loop that relied on the cancel
    alone would then run on forever, and the plugin's stop (and a test's event loop) with it.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
