"""The job store that outlives ComfyUI: one SQLite file, ``<user dir>/connect/jobs.sqlite3``.

    store = SqliteJobStore.open(path, max_jobs, ttl, result_ttl, on_result_expired)
    await store.put(job)        # committed when this returns: a kill -9 after it loses nothing

A MemoryJobStore (jobs.py) whose every change is also written to the file: the same contract, the same
bounds, order and pruning, and every read (get, find, select, pending) answered from memory, so reading
never waits for the disk. The file is read once, when the store opens; after that it is a journal.
Every record is one row: its JSON (jobcodec.py) plus the columns the plugin once queried (still
written: an older plugin reads the file, and so can a person with the sqlite3 shell).

Writes never run on the event loop: one thread of the store's own commits them, in the order they were
asked for. A record is encoded on the loop when put() is called, so what is written is the job as it
was then. Changes asked for while the thread is committing wait for it and then go in one transaction
together (a group commit), and a job changed twice in that time is written once, as it is last: under
load the thread commits more per round, not more rounds. put() still returns only once its change is
committed; a caller that need not wait (the runner's `running` state) does not await it.

A file that is not a readable database (a disk error, a truncated copy) is moved aside to
``jobs.sqlite3.unreadable-<time>`` with a log line, and the store starts empty: ComfyUI starts anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Unavailable
from .jobcodec import decode, encode, encode_plan
from .jobs import JobRecord, MemoryJobStore, Plan

log = logging.getLogger("comfyui-connect")

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
_DELETE = "DELETE FROM jobs WHERE id = ?"
# NORMAL in WAL mode: a commit is in the WAL file when put() returns, so a crash or kill -9 of ComfyUI
# loses nothing; only a power cut or OS crash may lose the last commits (the file stays consistent).
# FULL (an fsync per commit) survives that too, but measured here (scripts/bench_jobstore.py) it made a
# synchronous run ~15 ms slower, NORMAL ~0.6 ms.
SYNCHRONOUS = "NORMAL"

Row = tuple[Any, ...]


@dataclass
class _Change:
    row: Row | None  # the job's row as it is to be; None: delete it
    renewed: bool = False  # deleted, then put again, in one batch: the old row goes first (a new place in the order)


class SqliteJobStore(MemoryJobStore):
    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        max_jobs: int,
        ttl: float,
        result_ttl: float,
        on_result_expired: Callable[[JobRecord], None] | None = None,
    ) -> None:
        super().__init__(max_jobs, ttl, result_ttl, on_result_expired)
        self._db = connection
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="connect-jobs-db")
        self._next: dict[str, _Change] = {}  # the next batch, by job id, in the order first asked for
        self._next_done: asyncio.Future[None] | None = None  # resolved once the next batch is committed
        self._writing = False  # a batch is on the thread
        self._plans: dict[str, tuple[Plan, str, str]] = {}  # job id -> its plan, encoded once (jobcodec.encode_plan)
        self._expired: list[JobRecord] | None = None  # collected while prune() runs

    @classmethod
    def open(
        cls, path: Path, max_jobs: int, ttl: float, result_ttl: float, on_result_expired: Callable[[JobRecord], None] | None = None
    ) -> SqliteJobStore:
        """Open (or create) the file and read every record; an unreadable file is moved aside and a new one started."""
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
        store = cls(connection, path, max_jobs, ttl, result_ttl, on_result_expired)
        for job in _records(connection.execute("SELECT record FROM jobs ORDER BY seq").fetchall()):
            store.keep(job)
        return store

    def close(self) -> None:
        """Write what is still waiting, then close the file."""
        changes, self._next, self._next_done = list(self._next.items()), {}, None
        if changes:
            self._thread.submit(self._commit_last, changes)
        self._thread.submit(self._db.close).result()
        self._thread.shutdown()

    # -- the JobStore contract: MemoryJobStore's, each change also committed to the file --------------
    async def put(self, job: JobRecord) -> None:
        new = job.id not in self
        self.keep(job)
        try:
            await asyncio.shield(self._write(job.id, self._row(job)))
        except Unavailable:
            if new and job.id in self:  # not kept in the file: not kept at all (the run is refused)
                self.drop(job.id, files=False)
                self._plans.pop(job.id, None)
            raise

    async def remove(self, job_id: str) -> None:
        self.drop(job_id)
        self._plans.pop(job_id, None)
        await asyncio.shield(self._write(job_id, None))

    async def prune(self, now: float) -> list[str]:
        self._expired = []
        try:
            dropped = self.prune_now(now)
        finally:
            expired, self._expired = self._expired, None
        gone = set(dropped)
        changes = [(job.id, self._row(job)) for job in expired if job.id not in gone]  # their outputs expired; the records stay
        for job_id in dropped:
            self._plans.pop(job_id, None)
        done = [self._write(job_id, row) for job_id, row in [*changes, *((job_id, None) for job_id in dropped)]]
        if done:
            await asyncio.shield(done[-1])  # one batch, or the last of two
        return dropped

    def _expire_result(self, job: JobRecord) -> None:
        if self._expired is not None:
            self._expired.append(job)
        super()._expire_result(job)

    def _row(self, job: JobRecord) -> Row:
        """The job's row, encoded now (on the loop: the record as it is at this call)."""
        plan, prompt = None, None
        if job.plan is not None and not job.finished:
            kept = self._plans.get(job.id)
            if kept is None or kept[0] is not job.plan:  # a plan never changes once made: encoded once
                kept = (job.plan, *encode_plan(job.plan))
                self._plans[job.id] = kept
            prompt, plan = kept[1], kept[2]
        else:
            self._plans.pop(job.id, None)
        return (
            job.id,
            job.workflow,
            job.status,
            job.owner,
            job.idempotency_scope,
            job.finished_at,
            int(job.outputs is not None),
            int(job.pending),
            prompt,
            encode(job, plan),
        )

    # -- the journal: batches handed to the store's thread --------------------------------------------
    def _write(self, job_id: str, row: Row | None) -> asyncio.Future[None]:
        """Add a change to the next batch (and start it, unless one is being written); resolved once committed."""
        earlier = self._next.get(job_id)
        if earlier is not None and earlier.row is None and row is not None:  # deleted, then put again
            del self._next[job_id]
            self._next[job_id] = _Change(row, renewed=True)
        elif earlier is not None:
            earlier.row = row
        else:
            self._next[job_id] = _Change(row)
        if self._next_done is None:
            self._next_done = asyncio.get_running_loop().create_future()
        done = self._next_done
        if not self._writing:
            self._start()
        return done

    def _start(self) -> None:
        changes, done = list(self._next.items()), self._next_done
        assert done is not None
        self._next, self._next_done, self._writing = {}, None, True
        self._thread.submit(self._commit, changes, done)

    def _committed(self, done: asyncio.Future[None], error: BaseException | None) -> None:
        """On the loop, after a batch: tell who waits, and start the next one."""
        self._writing = False
        if error is None:
            done.set_result(None)
        else:
            failed = Unavailable(f"the job store {self.path} failed: {error}", {"store": "sqlite"})
            failed.__cause__ = error
            done.set_exception(failed)
            done.exception()  # seen: a change nobody awaited must not log "exception never retrieved"
            log.error("ComfyUI-Connect: %s", failed.message)
        if self._next:
            self._start()

    # -- on the store's thread ---------------------------------------------------------------------------
    def _commit(self, changes: list[tuple[str, _Change]], done: asyncio.Future[None]) -> None:
        error: BaseException | None = None
        try:
            self._apply(changes)
        except Exception as exc:  # a full disk, a file removed under it: one clear error, ComfyUI goes on
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: the process is ending and nobody waits
            done.get_loop().call_soon_threadsafe(self._committed, done, error)

    def _commit_last(self, changes: list[tuple[str, _Change]]) -> None:
        try:
            self._apply(changes)
        except Exception as exc:
            log.error("ComfyUI-Connect: the job store %s failed while closing: %s", self.path, exc)

    def _apply(self, changes: list[tuple[str, _Change]]) -> None:
        """One transaction: every change of the batch is in the file, or none."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for job_id, change in changes:
                if change.row is None or change.renewed:
                    db.execute(_DELETE, (job_id,))
                if change.row is not None:
                    db.execute(_UPSERT, change.row)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


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


def _records(rows: list[Row]) -> list[JobRecord]:
    found = []
    for (text,) in rows:
        try:
            found.append(decode(text))
        except (ValueError, KeyError, TypeError) as exc:  # one bad row must not hide the others
            log.error("ComfyUI-Connect: skipped an unreadable job record: %s", exc)
    return found
