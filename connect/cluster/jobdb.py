"""The cluster's jobs in Redis: every key the job engine uses, its Lua scripts, and the calls on them.

Key layout (all under ``connect:``):

    connect:jobs                   stream of jobs to run (fields ``job``: its id, ``workflow``; deleted once ended);
                                   group ``workers``.
                                   A worker's pending entry is its lease: renewed (XCLAIM ... JUSTID, which
                                   resets its idle time) by the owner's lease thread, reclaimed by any other
                                   worker (XAUTOCLAIM) once idle longer than CONNECT_CLUSTER_LEASE.
    connect:job:<id>               hash: rec (the record, run/jobcodec.py JSON), status, attempt (takes so far),
                                   owner (instance holding it; "" while queued), seq (last event number),
                                   cancel (a stop asked for: its reason), expired ("1": outputs handed out),
                                   deleted ("1"), progress (JSON), history (JSON list of ended attempts),
                                   refused (JSON list of {instance, missing}: workers that cannot run it)
    connect:job:<id>:events        stream of its events (fields seq, name, data): SSE ids are the seq numbers
    connect:job:<id>:files:<n>     hash: '["<kind>","<subfolder>","<filename>"]' -> bytes, attempt n's output files
    connect:job:<id>:inputs        hash: stored input file name -> bytes (inputs.py), until the job ends
    connect:jobs:index             sorted set: job id -> created (epoch seconds), for the list
    connect:idem:<sha256 of scope> string: the job id an Idempotency-Key scope started (SET NX)
    connect:jobs:dead              sorted set: dead-lettered job id -> when (kept as long as job records, CONNECT_JOBS_TTL)
    connect:jobs:inflight          hash: client -> its jobs not ended, and "*" -> all of them (the limits,
                                   CONNECT_MAX_QUEUE_PER_CLIENT and CONNECT_MAX_QUEUE, counted cluster-wide)

Lua scripts (jobscripts.py; each one atomic, so the checks and the writes cannot interleave with another instance's):

    ENQUEUE  the limits checked and counted, record + index + the "queued" event + the stream entry, at once
    TAKE     after XREADGROUP/XAUTOCLAIM: a job gone or ended is acked; else attempt+1 and owner=me (the
             ended attempt goes into history); at CONNECT_CLUSTER_ATTEMPTS it says "dead" (not incremented)
    RENEW    the lease: XCLAIM to itself only while (owner, attempt) are still the caller's
    EVENT    one event, only from the current (owner, attempt): a paused worker's late events are dropped
    UPDATE   the record (started, progress), same fence
    COMMIT   the end: same fence and not ended yet; record, status, final event, XACK, TTLs, the client's
             run given back; 0 if refused
    REFUSE   a worker lacking what the job needs hands it back (acked, added again; attempt untouched);
             once every live worker has refused it, "fail": the refuser owns it and commits the failure
    CANCEL   a queued job (no owner) ends cancelled at once; a taken one gets ``cancel`` for its owner to see

Events and the record of a finished job expire with CONNECT_JOBS_TTL, its files with CONNECT_JOB_RESULTS_TTL.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from .jobscripts import CANCEL, COMMIT, ENQUEUE, EVENT, REFUSE, RENEW, TAKE, UPDATE
from .link import PREFIX, RedisLink
from .view import Unreachable

STREAM = PREFIX + "jobs"
GROUP = "workers"
INDEX = PREFIX + "jobs:index"
DEAD = PREFIX + "jobs:dead"
IN_FLIGHT = PREFIX + "jobs:inflight"
FINAL = ("succeeded", "failed", "cancelled")


def job_key(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}"


def events_key(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}:events"


def files_key(job_id: str, attempt: int) -> str:
    return f"{PREFIX}job:{job_id}:files:{attempt}"


def inputs_key(job_id: str) -> str:
    return f"{PREFIX}job:{job_id}:inputs"


def idem_key(scope: str) -> str:
    return PREFIX + "idem:" + hashlib.sha256(scope.encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """A job as Redis holds it: its record's JSON and the fields kept beside it."""

    rec: str
    status: str
    attempt: int
    owner: str
    cancel: str | None
    expired: bool
    deleted: bool
    progress: dict[str, Any] | None
    history: list[dict[str, Any]]
    refused: tuple[str, ...] = ()  # instances that cannot run it (REFUSE)


@dataclass(frozen=True)
class Taken:
    verdict: str  # run, dead (attempts used up), or gone/done (acked, nothing to do)
    attempt: int = 0
    rec: str = ""
    history: tuple[dict[str, Any], ...] = ()
    cancel: str = ""


@dataclass(frozen=True)
class Refused:
    verdict: str  # handed (back in the stream), done (gone or ended: acked), fail (every live worker refused it)
    attempt: int = 0
    rec: str = ""
    refusals: tuple[dict[str, Any], ...] = ()  # {instance, missing} of each worker that refused it


def _refusals(raw: str | None) -> list[dict[str, Any]]:
    found = json.loads(raw or "[]")
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []  # cjson writes [] as {}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class JobDb:
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        client = link.client
        self._enqueue = client.register_script(ENQUEUE)
        self._take = client.register_script(TAKE)
        self.renew_script = RENEW  # the lease thread registers it on its own (sync) client
        self._event = client.register_script(EVENT)
        self._update = client.register_script(UPDATE)
        self._commit = client.register_script(COMMIT)
        self._cancel = client.register_script(CANCEL)
        self._refuse = client.register_script(REFUSE)
        self._group_made = False

    @property
    def client(self) -> Any:
        return self.link.client

    async def ensure_group(self) -> None:
        if self._group_made:
            return

        async def make() -> None:
            try:
                await self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
            except Exception as exc:  # BUSYGROUP: another instance made it first
                if "BUSYGROUP" not in str(exc):
                    raise

        await self.link.call(make)
        self._group_made = True

    # -- the api side ---------------------------------------------------------------------------------
    async def claim_scope(self, scope: str, job_id: str, ttl: float) -> str | None:
        """Take an Idempotency-Key scope for `job_id`; the id that holds it already, if another does."""
        key = idem_key(scope)

        async def claim() -> str | None:
            if await self.client.set(key, job_id, nx=True, ex=max(1, int(ttl))):
                return None
            held = await self.client.get(key)
            return None if held is None else _text(held)

        return await self.link.call(claim)

    async def release_scope(self, scope: str, job_id: str) -> None:
        key = idem_key(scope)

        async def release() -> None:
            held = await self.client.get(key)
            if held is not None and _text(held) == job_id:
                await self.client.delete(key)

        await self.link.call(release)

    async def enqueue(
        self, job_id: str, rec: str, created: float, queued: str, client: str, limits: tuple[int, int], workflow: str = ""
    ) -> tuple[str, int]:
        """("ok", jobs in flight now), or what refused it: ("client", its runs in flight) or ("queue", all of them)."""
        await self.ensure_group()
        keys = [job_key(job_id), INDEX, STREAM, events_key(job_id), IN_FLIGHT]
        args = [job_id, rec, created, queued, client, *limits, workflow]
        answer = await self.link.call(lambda: self._enqueue(keys=keys, args=args))
        return _text(answer[0]), int(answer[1])

    async def load(self, job_id: str) -> Stored | None:
        fields = await self.link.call(lambda: self.client.hgetall(job_key(job_id)))
        return _stored(fields)

    async def load_many(self, ids: list[str]) -> list[Stored | None]:
        async def read() -> list[Any]:
            async with self.client.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hgetall(job_key(job_id))
                return list(await pipe.execute())

        return [_stored(fields) for fields in await self.link.call(read)] if ids else []

    async def newest(self, count: int) -> list[str]:
        return [_text(i) for i in await self.link.call(lambda: self.client.zrevrange(INDEX, 0, count - 1))]

    async def forget_index(self, ids: list[str]) -> None:
        if ids:
            await self.link.call(lambda: self.client.zrem(INDEX, *ids))

    async def cancel(self, job_id: str, reason: str, rec: str, final: str, ttl: float) -> str:
        keys = [job_key(job_id), events_key(job_id), IN_FLIGHT]
        answer = await self.link.call(lambda: self._cancel(keys=keys, args=[reason, rec, final, int(ttl)]))
        return _text(answer)

    async def mark(self, job_id: str, field: str) -> None:
        await self.link.call(lambda: self.client.hset(job_key(job_id), field, "1"))

    async def remove(self, job_id: str, attempt: int) -> None:
        keys = [job_key(job_id), events_key(job_id), inputs_key(job_id), *(files_key(job_id, n) for n in range(attempt + 1))]
        await self.link.call(lambda: self.client.delete(*keys))
        await self.forget_index([job_id])

    async def events(self, job_id: str, after: str, block_ms: int | None) -> list[tuple[str, int, str, str]]:
        """(stream id, seq, name, data) of the job's events after stream id `after`; with `block_ms`, waits for one."""
        key = events_key(job_id)
        if block_ms is None:
            raw = await self.link.call(lambda: self.client.xrange(key, min="(" + after if after != "0-0" else "-"))
        else:
            answer = await self.link.call(lambda: self.client.xread({key: after}, block=block_ms, count=500))
            raw = answer[0][1] if answer else []
        found = []
        for entry_id, fields in raw:
            data = {_text(k): _text(v) for k, v in fields.items()}
            found.append((_text(entry_id), int(data["seq"]), data["name"], data["data"]))
        return found

    async def put_inputs(self, job_id: str, files: dict[str, bytes], ttl: float) -> None:
        async def put() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(inputs_key(job_id), mapping=files)
                pipe.expire(inputs_key(job_id), max(1, int(ttl)))
                await pipe.execute()

        await self.link.call(put)

    async def inputs(self, job_id: str) -> dict[str, bytes]:
        raw = await self.link.call(lambda: self.client.hgetall(inputs_key(job_id)))
        return {_text(k): bytes(v) for k, v in raw.items()}

    async def drop_inputs(self, job_id: str) -> None:
        await self.link.call(lambda: self.client.delete(inputs_key(job_id)))

    async def files(self, job_id: str, attempt: int) -> dict[str, bytes]:
        raw = await self.link.call(lambda: self.client.hgetall(files_key(job_id, attempt)))
        return {_text(k): bytes(v) for k, v in raw.items()}

    async def queued(self) -> int:
        """Jobs in the stream no worker has taken yet (the cluster's queue)."""
        if not await self.link.call(lambda: self.client.exists(STREAM)):
            return 0
        groups = await self.link.call(lambda: self.client.xinfo_groups(STREAM))
        for group in groups:
            if _text(group.get("name", b"")) == GROUP:
                lag = group.get("lag")
                return int(lag) if lag is not None else 0
        return 0

    # -- the worker side ----------------------------------------------------------------------------------
    async def next_entry(self, me: str, lease_ms: int, block_ms: int) -> tuple[str, str] | None:
        """(stream entry id, job id): one whose lease expired first, else a new one (waiting up to `block_ms`)."""
        await self.ensure_group()
        try:
            return await self._next_entry(me, lease_ms, block_ms)
        except Unreachable as exc:
            if "NOGROUP" in str(exc):  # Redis restarted without its data: the group is made again
                self._group_made = False
            raise

    async def _next_entry(self, me: str, lease_ms: int, block_ms: int) -> tuple[str, str] | None:
        claimed = await self.link.call(lambda: self.client.xautoclaim(STREAM, GROUP, me, lease_ms, "0-0", count=1))
        entries = claimed[1] if claimed and len(claimed) > 1 else []
        if not entries:
            answer = await self.link.call(lambda: self.client.xreadgroup(GROUP, me, {STREAM: ">"}, count=1, block=block_ms))
            entries = answer[0][1] if answer else []
        for entry_id, fields in entries:
            if fields:
                return _text(entry_id), _text(fields.get(b"job", b""))
            await self._ack(entry_id)  # its entry was trimmed away: nothing to run
        return None

    async def _ack(self, entry_id: Any) -> None:
        await self.link.call(lambda: self.client.xack(STREAM, GROUP, entry_id))

    async def take(self, job_id: str, entry_id: str, me: str, max_attempts: int) -> Taken:
        answer = await self.link.call(lambda: self._take(keys=[job_key(job_id), STREAM], args=[GROUP, entry_id, me, max_attempts]))
        verdict = _text(answer[0])
        if verdict not in ("run", "dead"):
            return Taken(verdict)
        return Taken(verdict, int(answer[1]), _text(answer[2]), tuple(json.loads(_text(answer[3]))), _text(answer[4]))

    async def event(self, job_id: str, me: str, attempt: int, name: str, data: str, progress: str) -> bool:
        keys = [job_key(job_id), events_key(job_id)]
        return bool(await self.link.call(lambda: self._event(keys=keys, args=[me, attempt, name, data, progress])))

    async def event_batch(self, me: str, events: list[tuple[str, int, str, str, str]]) -> None:
        """Several (job id, attempt, name, data, progress) events in one round trip, in order (each still fenced)."""

        async def send() -> None:
            async with self.client.pipeline(transaction=False) as pipe:
                for job_id, attempt, name, data, progress in events:
                    await self._event(keys=[job_key(job_id), events_key(job_id)], args=[me, attempt, name, data, progress], client=pipe)
                await pipe.execute()

        await self.link.call(send)

    async def update(self, job_id: str, me: str, attempt: int, rec: str, status: str, after: bool = False) -> bool:
        args = [me, attempt, rec, status, "after" if after else ""]
        return bool(await self.link.call(lambda: self._update(keys=[job_key(job_id)], args=args)))

    async def put_files(self, job_id: str, attempt: int, files: dict[str, bytes], ttl: float) -> None:
        key = files_key(job_id, attempt)

        async def put() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                if files:
                    pipe.hset(key, mapping=files)
                    pipe.expire(key, max(1, int(ttl)))
                await pipe.execute()

        await self.link.call(put)

    async def commit(self, job_id: str, me: str, attempt: int, rec: str, status: str, final: str, entry_id: str, ttl: float) -> bool:
        keys = [job_key(job_id), events_key(job_id), STREAM, INDEX, IN_FLIGHT]
        args = [me, attempt, rec, status, final, GROUP, entry_id, int(ttl), job_id]
        return bool(await self.link.call(lambda: self._commit(keys=keys, args=args)))

    async def refuse(self, job_id: str, entry_id: str, me: str, live: list[str], missing: list[dict[str, Any]] | None) -> Refused:
        """Hand the job back (REFUSE) naming what this worker lacks (None: record nothing new, only hand it back)."""
        lacking = "" if missing is None else json.dumps(missing)
        args = [GROUP, entry_id, me, json.dumps(live), lacking, job_id]
        answer = await self.link.call(lambda: self._refuse(keys=[job_key(job_id), STREAM], args=args))
        verdict = _text(answer[0])
        if verdict != "fail":
            return Refused(verdict)
        return Refused(verdict, int(answer[1]), _text(answer[2]), tuple(_refusals(_text(answer[3]))))

    async def dead_lettered(self, job_id: str) -> None:
        """Note a job given up on (after its commit): the queue statistics count them (jobqueue.py)."""
        await self.link.call(lambda: self.client.zadd(DEAD, {job_id: time.time()}))

    async def cancel_reason(self, job_id: str) -> str | None:
        raw = await self.link.call(lambda: self.client.hget(job_key(job_id), "cancel"))
        return None if raw is None else _text(raw)


def _stored(fields: dict[Any, Any] | None) -> Stored | None:
    if not fields or b"rec" not in fields:
        return None
    data = {_text(k): _text(v) for k, v in fields.items()}
    return Stored(
        rec=data["rec"],
        status=data.get("status", "queued"),
        attempt=int(data.get("attempt") or 0),
        owner=data.get("owner", ""),
        cancel=data.get("cancel"),
        expired=data.get("expired") == "1",
        deleted=data.get("deleted") == "1",
        progress=json.loads(data["progress"]) if data.get("progress") else None,
        history=json.loads(data.get("history") or "[]"),
        refused=tuple(str(r.get("instance")) for r in _refusals(data.get("refused"))),
    )
