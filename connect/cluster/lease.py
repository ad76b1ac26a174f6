"""A worker's hold on the job it runs, renewed from a plain thread with its own (blocking) Redis client.

    lease = Lease(url, me, every=lease / 3, script=db.renew_script, on_lost=...)
    lease.hold(job_id, entry_id, attempt)   # from now on renewed every `every` seconds
    lease.drop()                             # the job ended (committed or not)

The thread depends neither on the event loop nor on ComfyUI's prompt worker: a loop busy for a moment,
or a node holding the GIL-free GPU for minutes, does not cost the job its lease. Only a process that
stops (kill -9, SIGSTOP, power, network) stops renewing, and then another worker reclaims the job.
A renewal that finds the job no longer ours (reclaimed while we were paused) calls `on_lost` once, from
this thread: the caller moves it to its loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError

from .jobdb import GROUP, STREAM, job_key

log = logging.getLogger("comfyui-connect")


class Lease:
    def __init__(self, url: str, me: str, every: float, script: str, on_lost: Callable[[str, int], None]) -> None:
        self._me = me
        self._every = every
        self._on_lost = on_lost
        self._client: Any = redis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=max(2.0, every))
        self._renew = self._client.register_script(script)
        self._lock = threading.Lock()
        self._held: tuple[str, str, int] | None = None
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="connect-cluster-lease", daemon=True)
        self._thread.start()

    def hold(self, job_id: str, entry_id: str, attempt: int) -> None:
        with self._lock:
            self._held = (job_id, entry_id, attempt)
        self._wake.set()

    def drop(self) -> None:
        with self._lock:
            self._held = None

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._every)
            self._wake.clear()
            with self._lock:
                held = self._held
            if held is not None and not self._stopped:
                self._renew_once(*held)

    def _renew_once(self, job_id: str, entry_id: str, attempt: int) -> None:
        try:
            kept = self._renew(keys=[job_key(job_id), STREAM], args=[self._me, attempt, GROUP, entry_id])
        except (RedisError, OSError) as exc:  # Redis away: the lease may lapse; the fenced commit decides
            log.warning("ComfyUI-Connect: could not renew the lease of job %s: %s", job_id, exc)
            return
        if not kept:
            with self._lock:
                if self._held != (job_id, entry_id, attempt):
                    return  # it ended meanwhile
                self._held = None
            self._on_lost(job_id, attempt)
