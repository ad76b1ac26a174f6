"""The job engine's Redis scripts on a real redis-server: takes count attempts, a lapsed lease is reclaimed,
the commit is fenced by (owner, attempt), a job taken too often is dead, a queued cancel ends it at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from support.redis_server import RedisServer

from connect.cluster.jobdb import STREAM, JobDb, job_key
from connect.cluster.lease import Lease
from connect.cluster.link import RedisLink
from connect.cluster.view import Connection


def with_db(tmp_path: Path, scenario: Callable[[JobDb, str], Awaitable[None]]) -> None:
    async def main(url: str) -> None:
        link = RedisLink(url, Connection(url))
        try:
            await scenario(JobDb(link), url)
        finally:
            await link.close()

    with RedisServer(tmp_path / "redis") as redis_server:
        asyncio.run(main(redis_server.url))


async def queued(db: JobDb, job_id: str = "j1") -> None:
    assert (await db.enqueue(job_id, json.dumps({"id": job_id}), 1.0, "{}", "me", (100, 100)))[0] == "ok"


def test_a_take_counts_the_attempt_and_a_lapsed_lease_is_reclaimed_with_its_history(tmp_path: Path) -> None:
    async def scenario(db: JobDb, _: str) -> None:
        await queued(db)
        entry, job_id = await db.next_entry("a", 60_000, 100) or ("", "")
        first = await db.take(job_id, entry, "a", 3)
        assert (job_id, first.verdict, first.attempt) == ("j1", "run", 1)
        assert await db.next_entry("b", 60_000, 100) is None  # a's lease holds
        await asyncio.sleep(0.3)
        again = await db.next_entry("b", 200, 100)  # idle past a 0.2 s lease: b reclaims it
        assert again == (entry, "j1")
        second = await db.take("j1", entry, "b", 3)
        assert second.attempt == 2 and second.history == ({"attempt": 1, "instance": "a", "reason": "lease_expired"},)
        assert not await db.commit("j1", "a", 1, "{}", "succeeded", "{}", entry, 60)  # a came back late: refused
        assert not await db.event("j1", "a", 1, "node", "{}", "")
        assert await db.commit("j1", "b", 2, '{"done": 1}', "succeeded", "{}", entry, 60)
        assert not await db.commit("j1", "b", 2, "{}", "failed", "{}", entry, 60)  # one end only
        stored = await db.load("j1")
        assert stored is not None and stored.status == "succeeded" and stored.rec == '{"done": 1}'
        names = [name for _, _, name, _ in await db.events("j1", "0-0", None)]
        assert names == ["queued", "succeeded"]
        pending = await db.client.xpending(STREAM, "workers")
        assert pending["pending"] == 0  # acked with the commit
        assert await db.client.xlen(STREAM) == 0  # and deleted: the stream holds only jobs not ended

    with_db(tmp_path, scenario)


def test_a_job_taken_as_often_as_allowed_is_dead(tmp_path: Path) -> None:
    async def scenario(db: JobDb, _: str) -> None:
        await queued(db)
        entry, _ = await db.next_entry("a", 60_000, 100) or ("", "")
        verdicts = [(await db.take("j1", entry, who, 2)) for who in ("a", "b", "c")]
        assert [(t.verdict, t.attempt) for t in verdicts] == [("run", 1), ("run", 2), ("dead", 2)]
        assert [h["instance"] for h in verdicts[-1].history] == ["a", "b"]

    with_db(tmp_path, scenario)


def test_a_queued_cancel_ends_the_job_and_a_taken_one_is_told(tmp_path: Path) -> None:
    async def scenario(db: JobDb, _: str) -> None:
        await queued(db, "q")
        assert await db.cancel("q", "cancelled", '{"c": 1}', "{}", 60) == "cancelled"
        entry, job_id = await db.next_entry("a", 60_000, 100) or ("", "")
        assert (await db.take(job_id, entry, "a", 3)).verdict == "done"  # acked, never run
        await queued(db, "r")
        entry, job_id = await db.next_entry("a", 60_000, 100) or ("", "")
        await db.take(job_id, entry, "a", 3)
        assert await db.cancel("r", "cancelled", "{}", "{}", 60) == "asked"
        assert await db.cancel_reason("r") == "cancelled"

    with_db(tmp_path, scenario)


def test_the_lease_thread_keeps_the_entry_fresh_and_reports_a_lost_job(tmp_path: Path) -> None:
    async def scenario(db: JobDb, url: str) -> None:
        await queued(db)
        entry, _ = await db.next_entry("a", 60_000, 100) or ("", "")
        await db.take("j1", entry, "a", 3)
        lost: list[tuple[str, int]] = []
        lease = Lease(url, "a", 0.1, db.renew_script, lambda job, attempt: lost.append((job, attempt)))
        try:
            lease.hold("j1", entry, 1)
            await asyncio.sleep(0.6)
            assert await db.next_entry("b", 400, 100) is None  # renewed every 0.1 s: never idle 0.4 s
            await db.client.hset(job_key("j1"), "owner", "b")  # as if b had reclaimed it
            for _ in range(50):
                if lost:
                    break
                await asyncio.sleep(0.05)
            assert lost == [("j1", 1)]
        finally:
            await asyncio.to_thread(lease.stop)

    with_db(tmp_path, scenario)


def test_limits_count_cluster_wide_and_each_end_gives_the_run_back_once(tmp_path: Path) -> None:
    async def scenario(db: JobDb, _: str) -> None:
        async def enqueue(job_id: str, client: str) -> tuple[str, int]:
            return await db.enqueue(job_id, json.dumps({"id": job_id}), 1.0, "{}", client, (2, 3))

        assert await enqueue("a1", "a") == ("ok", 1)
        assert await enqueue("a2", "a") == ("ok", 2)
        assert await enqueue("a3", "a") == ("client", 2)  # 429: the client's two are in flight
        assert await enqueue("b1", "b") == ("ok", 3)
        assert await enqueue("c1", "c") == ("queue", 3)  # 503: three in the cluster
        assert await db.cancel("a1", "cancelled", "{}", "{}", 60) == "cancelled"
        assert await db.cancel("a1", "cancelled", "{}", "{}", 60) == "ended"  # no second give-back
        entry, job_id = await db.next_entry("w", 60_000, 100) or ("", "")
        assert (await db.take(job_id, entry, "w", 3)).verdict == "done"  # a1's entry: acked
        entry, job_id = await db.next_entry("w", 60_000, 100) or ("", "")
        taken = await db.take(job_id, entry, "w", 3)
        assert job_id == "a2" and await db.commit("a2", "w", taken.attempt, "{}", "succeeded", "{}", entry, 60)
        assert await enqueue("c1", "c") == ("ok", 2)
        assert await db.client.hgetall("connect:jobs:inflight") == {b"*": b"2", b"b": b"1", b"c": b"1"}

    with_db(tmp_path, scenario)


def test_one_idempotency_scope_is_claimed_by_one_job(tmp_path: Path) -> None:
    async def scenario(db: JobDb, _: str) -> None:
        answers = await asyncio.gather(*(db.claim_scope("scope", f"job-{n}", 60) for n in range(5)))
        winners = [n for n, held in enumerate(answers) if held is None]
        assert len(winners) == 1 and all(held == f"job-{winners[0]}" for held in answers if held is not None)

    with_db(tmp_path, scenario)


def test_a_refused_job_is_handed_back_without_an_attempt_until_every_live_worker_refused_it(tmp_path: Path) -> None:
    async def scenario(db: JobDb, _: str) -> None:
        await queued(db)
        lacks = [{"kind": "model_file", "node_id": "2", "value": "x.safetensors", "input": None}]
        entry, job_id = await db.next_entry("a", 60_000, 100) or ("", "")
        handed = await db.refuse(job_id, entry, "a", ["a", "b"], lacks)
        assert handed.verdict == "handed"
        stored = await db.load("j1")
        assert stored is not None and (stored.status, stored.attempt, stored.owner, stored.refused) == ("queued", 0, "", ("a",))
        assert (await db.client.xpending(STREAM, "workers"))["pending"] == 0 and await db.client.xlen(STREAM) == 1
        again, same = await db.next_entry("a", 60_000, 100) or ("", "")
        assert same == "j1" and again != entry  # a new entry at the stream's end: any worker may read it
        assert (await db.refuse("j1", again, "a", ["a", "b"], lacks)).verdict == "handed"  # a again: recorded once
        stored = await db.load("j1")
        assert stored is not None and stored.refused == ("a",)
        last, _ = await db.next_entry("b", 60_000, 100) or ("", "")
        failed = await db.refuse("j1", last, "b", ["a", "b"], [])
        assert (failed.verdict, failed.attempt, failed.rec) == ("fail", 1, json.dumps({"id": "j1"}))
        assert [r["instance"] for r in failed.refusals] == ["a", "b"] and failed.refusals[0]["missing"] == lacks
        assert await db.commit("j1", "b", 1, "{}", "failed", "{}", last, 60)  # b owns the failure: the fenced commit
        assert await db.client.xlen(STREAM) == 0
        assert (await db.refuse("j1", last, "a", ["a"], lacks)).verdict == "done"  # ended: nothing to hand back

    with_db(tmp_path, scenario)
