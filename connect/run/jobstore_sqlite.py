"""The job store that outlives ComfyUI: one SQLite file, ``<user dir>/connect/jobs.sqlite3``.

    store = SqliteJobStore.open(path, max_jobs, ttl, result_ttl, on_result_expired)
    await store.put(job)        # committed when this returns: a kill -9 after it loses nothing

Same contract as MemoryJobStore (jobs.py): the same bounds, the same order (oldest first by first
put), the same pruning. Every record is one row: its JSON (jobcodec.py) plus the columns the queries
filter on. The database is the journal: each put is one transaction, in WAL mode.

Never on the event loop: every statement runs on one thread of its own (so they also run in the
order they were asked for, and a later put of a job never lands before an earlier one), and the
record is encoded on the loop when put() is called, so what is written is the job as it was then.

A file that is not a readable database (a disk error, a truncated copy) is moved aside to
``jobs.sqlite3.unreadable-<time>`` with a log line, and the store starts empty: ComfyUI starts anyway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..errors import Unavailable
from .jobcodec import decode, encode
from .jobs import FINISHED, JobQuery, JobRecord

log = logging.getLogger("comfyui-connect")
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order of first put: oldest first, as MemoryJobStore
    id TEXT NOT NULL UNIQUE,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT,
    scope TEXT,
    finished_at REAL,
    has_outputs INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    plan_prompt TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_scope ON jobs (scope) WHERE scope IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_pending ON jobs (pending) WHERE pending = 1;
"""
_UPSERT = """
INSERT INTO jobs (id, workflow, status, owner, scope, finished_at, has_outputs, pending, plan_prompt, record)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET workflow = excluded.workflow, status = excluded.status, owner = excluded.owner,
    scope = excluded.scope, finished_at = excluded.finished_at, has_outputs = excluded.has_outputs,
    pending = excluded.pending, plan_prompt = excluded.plan_prompt, record = excluded.record
"""
_FINISHED = "status IN ({})".format(", ".join(f"'{s}'" for s in FINISHED))
# NORMAL in WAL mode: a commit is in the WAL file when put() returns, so a crash or kill -9 of ComfyUI
# loses nothing; only a power cut or OS crash may lose the last commits (the file stays consistent).
# FULL (an fsync per commit) survives that too, but measured here (scripts/bench_jobstore.py) it made a
# synchronous run ~15 ms slower, NORMAL ~0.6 ms.
SYNCHRONOUS = "NORMAL"

Row = tuple[Any, ...]


class SqliteJobStore:
    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        max_jobs: int,
        ttl: float,
        result_ttl: float,
        on_result_expired: Callable[[JobRecord], None] | None = None,
    ) -> None:
        self.max_jobs = max_jobs
        self.ttl = ttl
        self.result_ttl = result_ttl
        self.on_result_expired = on_result_expired
        self._db = connection
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="connect-jobs-db")

    @classmethod
    def open(
        cls, path: Path, max_jobs: int, ttl: float, result_ttl: float, on_result_expired: Callable[[JobRecord], None] | None = None
    ) -> SqliteJobStore:
        """Open (or create) the file; an unreadable one is moved aside and a new one started."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = _connect(path)
        except sqlite3.DatabaseError as exc:
            aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            log.error("ComfyUI-Connect: the job store %s is unreadable (%s); moved it to %s and started an empty one", path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                extra = Path(f"{path}{suffix}")
                if extra.exists():
                    extra.replace(Path(f"{aside}{suffix}"))
            connection = _connect(path)
        return cls(connection, path, max_jobs, ttl, result_ttl, on_result_expired)

    def close(self) -> None:
        self._thread.submit(self._db.close).result()
        self._thread.shutdown()

    async def _call(self, work: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)
        except sqlite3.Error as exc:  # a full disk, a file removed under it: one clear error, ComfyUI goes on
            raise Unavailable(f"the job store {self.path} failed: {exc}", {"store": "sqlite"}) from exc

    # -- the JobStore contract ---------------------------------------------------------------------------
    async def put(self, job: JobRecord) -> None:
        row = _row(job)  # encoded now, on the loop: the record as it is at this call
        await self._call(self._write, _UPSERT, row)

    async def get(self, job_id: str) -> JobRecord | None:
        return _first(await self._call(self._records, "SELECT record FROM jobs WHERE id = ?", (job_id,)))

    async def find(self, idempotency_scope: str) -> JobRecord | None:
        query = "SELECT record FROM jobs WHERE scope = ? ORDER BY seq DESC LIMIT 1"
        return _first(await self._call(self._records, query, (idempotency_scope,)))

    async def remove(self, job_id: str) -> None:
        removed = await self._call(self._delete, [job_id])
        self._expire(removed)

    async def select(self, query: JobQuery) -> list[JobRecord]:
        where, args = [], []
        for column, value in (("workflow", query.workflow), ("status", query.status), ("owner", query.owner)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT record FROM jobs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC LIMIT ?"
        return await self._call(self._records, sql, (*args, query.limit))

    async def prune(self, now: float) -> list[str]:
        dropped, expired = await self._call(self._prune, now)
        self._expire(expired)
        return dropped

    async def pending(self) -> list[JobRecord]:
        return await self._call(self._records, "SELECT record FROM jobs WHERE pending = 1 ORDER BY seq", ())

    def held_prompts(self) -> list[dict[str, Any]]:
        sql = f"SELECT plan_prompt FROM jobs WHERE plan_prompt IS NOT NULL AND NOT {_FINISHED}"
        rows = self._thread.submit(self._read, sql, ()).result()
        return [json.loads(text) for (text,) in rows]

    # -- on the store's thread ---------------------------------------------------------------------------
    def _write(self, sql: str, args: Sequence[Any]) -> None:
        with self._db:  # one transaction: committed, or rolled back on an error
            self._db.execute(sql, args)

    def _read(self, sql: str, args: Sequence[Any]) -> list[Row]:
        return self._db.execute(sql, args).fetchall()

    def _records(self, sql: str, args: Sequence[Any]) -> list[JobRecord]:
        return _records(self._read(sql, args))  # decoded here too: a long list does not hold the loop

    def _delete(self, ids: list[str]) -> list[JobRecord]:
        """Remove these jobs; returns those that still held outputs (their files go)."""
        marks = ", ".join("?" * len(ids))
        with self._db:
            rows = self._db.execute(f"SELECT record FROM jobs WHERE has_outputs = 1 AND id IN ({marks})", ids).fetchall()
            self._db.execute(f"DELETE FROM jobs WHERE id IN ({marks})", ids)
        return _records(rows)

    def _prune(self, now: float) -> tuple[list[str], list[JobRecord]]:
        finished = f"{_FINISHED} AND finished_at IS NOT NULL"
        sql = f"SELECT id FROM jobs WHERE {finished} AND ? - finished_at > ? ORDER BY seq"
        old = [r[0] for r in self._db.execute(sql, (now, self.ttl))]
        rows = self._db.execute(
            f"SELECT record FROM jobs WHERE {finished} AND has_outputs = 1 AND ? - finished_at > ? AND ? - finished_at <= ? ORDER BY seq",
            (now, self.result_ttl, now, self.ttl),
        ).fetchall()
        expired = _records(rows)
        with self._db:
            for job in expired:
                job.outputs, job.result_expired = None, True
                self._db.execute(_UPSERT, _row(job))
        (count,) = self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()
        excess = count - len(old) - self.max_jobs
        if excess > 0:  # the oldest finished ones make room
            besides = f" AND id NOT IN ({', '.join('?' * len(old))})" if old else ""  # NOT IN (NULL) would match nothing
            sql = f"SELECT id FROM jobs WHERE {finished}{besides} ORDER BY seq LIMIT ?"
            old += [r[0] for r in self._db.execute(sql, (*old, excess))]
        return old, expired + (self._delete(old) if old else [])

    def _expire(self, jobs: list[JobRecord]) -> None:
        for job in jobs:
            job.outputs, job.result_expired = None, True
            if self.on_result_expired is not None:
                self.on_result_expired(job)


def _connect(path: Path) -> sqlite3.Connection:
    # check_same_thread=False: opened here, then used by the store's one thread only.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        connection.executescript(_SCHEMA)
        (verdict,) = connection.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {verdict}")
    except BaseException:
        connection.close()
        raise
    return connection


def _row(job: JobRecord) -> Row:
    plan = None if job.plan is None or job.finished else json.dumps(job.plan.prompt, separators=(",", ":"), default=str)
    return (
        job.id,
        job.workflow,
        job.status,
        job.owner,
        job.idempotency_scope,
        job.finished_at,
        int(job.outputs is not None),
        int(job.pending),
        plan,
        encode(job),
    )


def _records(rows: list[Row]) -> list[JobRecord]:
    found = []
    for (text,) in rows:
        try:
            found.append(decode(text))
        except (ValueError, KeyError, TypeError) as exc:  # one bad row must not hide the others
            log.error("ComfyUI-Connect: skipped an unreadable job record: %s", exc)
    return found


def _first(found: list[JobRecord]) -> JobRecord | None:
    return found[0] if found else None
