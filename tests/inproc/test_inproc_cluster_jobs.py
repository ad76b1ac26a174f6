"""Cluster jobs on the fake engine and a real redis-server: a run goes through Redis and comes back, and the
job (record, events, outputs, cancel, list) is served from Redis; Redis away answers 503."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from support.images import png_b64
from support.inproc import Plugin, b64_pixel, canvas, run, steps
from support.redis_server import RedisServer
from support.workflows import load_invert

from connect.cluster.jobs import ClusterJobs
from connect.cluster.node import Cluster
from connect.cluster.view import Unreachable

ME = "inproc-w"


def in_cluster(tmp_path: Path, scenario: Any, role: str = "both", aof: bool = False, **settings: Any) -> None:
    async def wrapped(plugin: Plugin) -> None:
        cluster = plugin.connect.cluster
        assert isinstance(cluster, Cluster) and isinstance(plugin.connect.jobs, ClusterJobs)
        try:
            await scenario(plugin, redis_server)
        finally:
            await cluster.stop()

    with RedisServer(tmp_path / "redis", aof=aof) as redis_server:
        run(tmp_path, wrapped, cluster_url=redis_server.url, cluster_role=role, instance_id=ME, cluster_heartbeat=0.2, **settings)


async def sse(plugin: Plugin, job_id: str, headers: dict[str, str] | None = None) -> list[tuple[int, str, Any]]:
    response = await plugin.client.get(f"/api/connect/jobs/{job_id}/events", headers=headers or {})
    assert response.status == 200
    events = []
    for block in (await response.text()).split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return events


def test_a_synchronous_run_goes_through_redis_and_names_its_worker(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("pic", canvas(color=0xFF0000))
        response = await plugin.run("pic")
        assert response.status == 200, await response.text()
        assert response.headers["X-Connect-Instance"] == ME
        assert b64_pixel((await response.json())["out"][0]) == (255, 0, 0)
        job = await plugin.job(response.headers["X-Connect-Job-Id"])
        assert job["status"] == "succeeded" and job["instance"] == ME and job["attempts"] == 1
        assert job["result_expired"] is True  # handed out by the run call, as on one machine
        stored = await plugin.connect.jobs.get(job["id"])
        saved = plugin.connect.cluster.store.local.raw("pic") or b""  # type: ignore[union-attr]
        assert stored is not None and stored.workflow_hash == hashlib.sha256(saved).hexdigest()
        listed = await (await plugin.client.get("/api/connect/jobs")).json()
        assert [j["id"] for j in listed["jobs"]] == [job["id"]] and listed["jobs"][0]["instance"] == ME
        beat = await plugin.connect.cluster.listing()  # type: ignore[union-attr]
        assert beat["instances"][0]["cluster_queue"] == 0

    in_cluster(tmp_path, scenario)


def test_an_async_job_keeps_its_outputs_in_redis_with_events_and_progress(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("steps", steps(3))
        accepted = await plugin.run("steps", params={"async": "1"})
        assert accepted.status == 202
        body = await accepted.json()
        assert body["instance"] is None and body["attempts"] == 0 and body["status"] == "queued"
        job = await plugin.finished(body["id"])
        assert job["status"] == "succeeded" and job["instance"] == ME and job["attempts"] == 1
        assert len(job["outputs"]["out"]) == 1 and b64_pixel(job["outputs"]["out"][0]) == (255, 255, 255)
        again = await plugin.job(body["id"])  # read twice: still there (copies come from Redis)
        assert again["outputs"] == job["outputs"]
        events = await sse(plugin, body["id"])
        names = [name for _, name, _ in events]
        assert names[0] == "queued" and names[-1] == "succeeded" and "started" in names and "progress" in names
        assert [seq for seq, _, _ in events] == sorted(seq for seq, _, _ in events)
        assert events[-1][2]["instance"] == ME
        replay = await sse(plugin, body["id"], {"Last-Event-ID": str(events[-2][0])})
        assert [name for _, name, _ in replay] == ["succeeded"]

    in_cluster(tmp_path, scenario)


def test_a_queued_job_is_cancelled_at_once_and_a_running_one_through_its_worker(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("steps", steps(3))
        plugin.engine.pause()  # the worker's ComfyUI holds the first job: the second stays in the cluster's queue
        first = await (await plugin.run("steps", params={"async": "1"})).json()
        await plugin.engine.running()
        second = await (await plugin.run("steps", params={"async": "1"})).json()
        assert (await plugin.job(second["id"]))["status"] == "queued"
        cancelled = await plugin.client.delete(f"/api/connect/jobs/{second['id']}")
        assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"
        assert (await plugin.client.get(f"/api/connect/jobs/{second['id']}")).status == 404  # DELETE forgets it
        stopping = asyncio.ensure_future(plugin.client.delete(f"/api/connect/jobs/{first['id']}"))
        await asyncio.sleep(1.0)  # the worker sees the cancel within its poll (0.5 s)
        plugin.engine.resume()
        answer = await stopping
        assert answer.status in (200, 202)
        ended = await plugin.connect.jobs.wait(first["id"], 30)
        assert ended is not None and ended.status == "cancelled"  # a caller already waiting still gets its end
        # Once ended, a deleted job is forgotten as on one machine, though Redis keeps its record a minute.
        assert (await plugin.client.get(f"/api/connect/jobs/{first['id']}")).status == 404
        listed = await (await plugin.client.get("/api/connect/jobs")).json()
        assert first["id"] not in [j["id"] for j in listed["jobs"]]

    in_cluster(tmp_path, scenario)


def test_an_api_instance_queues_and_never_runs(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("pic", canvas())
        response = await plugin.run("pic", headers={"Prefer": "wait=1"})
        assert response.status == 202  # nobody takes it: no worker in this cluster
        job = await plugin.job(response.headers["X-Connect-Job-Id"])
        assert job["status"] == "queued" and job["instance"] is None
        assert plugin.engine.queue_depth() == 0

    in_cluster(tmp_path, scenario, role="api")


def test_redis_away_answers_503_with_retry_after_and_recovers(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, redis_server: RedisServer) -> None:
        await plugin.save("pic", canvas())
        assert (await plugin.run("pic")).status == 200
        redis_server.stop()
        refused = await plugin.run("pic")
        assert refused.status == 503 and refused.headers["Retry-After"] == "2"
        error = (await refused.json())["error"]
        assert error["type"] == "cluster_unavailable" and "Redis" in error["message"]
        listed = await plugin.client.get("/api/connect/jobs")
        assert listed.status == 503 and (await listed.json())["error"]["type"] == "cluster_unavailable"
        redis_server.start()
        for _ in range(100):
            if (back := await plugin.run("pic")).status == 200:
                break
            await asyncio.sleep(0.1)
        assert back.status == 200, await back.text()

    in_cluster(tmp_path, scenario)


def test_one_idempotency_key_sent_twice_at_once_makes_one_job(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("pic", canvas())
        headers = {"Idempotency-Key": "same-key"}
        first, second = await asyncio.gather(*(plugin.run("pic", params={"async": "1"}, headers=headers) for _ in range(2)))
        assert {first.status, second.status} == {202}
        assert first.headers["X-Connect-Job-Id"] == second.headers["X-Connect-Job-Id"]
        assert "true" in (first.headers.get("Idempotent-Replayed"), second.headers.get("Idempotent-Replayed"))
        listed = await (await plugin.client.get("/api/connect/jobs")).json()
        assert len(listed["jobs"]) == 1

    in_cluster(tmp_path, scenario)


def test_the_per_client_limit_counts_the_cluster_s_jobs(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("steps", steps(3))
        plugin.engine.pause()
        first = await plugin.run("steps", params={"async": "1"})
        assert first.status == 202
        await plugin.engine.running()
        plugin.connect.gate.admission.max_per_client = 10  # this instance would let it through: the cluster does not
        refused = await plugin.run("steps", params={"async": "1"})
        assert refused.status == 429 and refused.headers["Retry-After"] == "2"
        assert (await refused.json())["error"]["type"] == "too_many_requests"
        plugin.engine.resume()
        await plugin.finished((await first.json())["id"])
        assert (await plugin.run("steps", params={"async": "1"})).status == 202  # given back at its end

    in_cluster(tmp_path, scenario, max_queue_per_client=1)


def test_a_redis_restart_with_aof_loses_no_accepted_job(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, redis_server: RedisServer) -> None:
        await plugin.save("steps", steps(3))
        plugin.engine.pause()
        running = await (await plugin.run("steps", params={"async": "1"})).json()
        await plugin.engine.running()
        waiting = await (await plugin.run("steps", params={"async": "1"})).json()
        redis_server.stop()  # appendfsync everysec (Redis's default); a clean stop writes everything
        redis_server.start()
        plugin.engine.resume()
        for job in (running, waiting):
            done = None
            for _ in range(300):
                response = await plugin.client.get(f"/api/connect/jobs/{job['id']}")
                if response.status == 200 and (done := await response.json())["status"] == "succeeded":
                    break
                assert response.status in (200, 503), await response.text()
                await asyncio.sleep(0.1)
            assert done is not None and done["status"] == "succeeded" and done["attempts"] == 1, done

    in_cluster(tmp_path, scenario, aof=True)


def test_a_job_taken_as_often_as_allowed_fails_as_dead_lettered_with_its_history(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("steps", steps(3))
        plugin.engine.pause()  # the worker's take stays queued in its ComfyUI
        job = await (await plugin.run("steps", params={"async": "1"})).json()
        jobs = plugin.connect.jobs
        assert isinstance(jobs, ClusterJobs)
        for _attempt in range(100):
            if (stored := await jobs.db.load(job["id"])) is not None and stored.attempt == 1:
                break
            await asyncio.sleep(0.05)
        # As if another worker had taken it since and died: its last attempt is used up, by "ghost".
        await jobs.db.client.hset(f"connect:job:{job['id']}", mapping={"attempt": 2, "owner": "ghost"})
        ended = await jobs.wait(job["id"], 30)  # this worker's lease sees it lost; then reclaims it, dead
        assert ended is not None and ended.status == "failed" and ended.error is not None, ended
        assert ended.error["type"] == "dead_lettered" and ended.error_status == 500
        assert ended.error["details"]["history"] == [{"attempt": 2, "instance": "ghost", "reason": "lease_expired"}]
        plugin.engine.resume()

    in_cluster(tmp_path, scenario, cluster_lease=1.0, cluster_attempts=2)


def test_a_job_runs_the_version_it_was_prepared_from_through_a_save_and_a_delete(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("pic", canvas(color=0xFF0000))
        await plugin.save("other", canvas())
        plugin.engine.pause()
        busy = await (await plugin.run("other", params={"async": "1"})).json()  # holds the one worker
        await plugin.engine.running()
        changed = await (await plugin.run("pic", params={"async": "1"})).json()
        second = await (await plugin.run("pic", params={"async": "1"})).json()
        await plugin.save("pic", canvas(color=0x0000FF))  # a save while both wait in the cluster's queue
        plugin.engine.resume()
        assert (await plugin.finished(busy["id"]))["status"] == "succeeded"
        assert b64_pixel((await plugin.finished(changed["id"]))["outputs"]["out"][0]) == (255, 0, 0)
        plugin.engine.pause()
        late = await (await plugin.run("pic", params={"async": "1"})).json()
        await plugin.engine.running()
        assert (await plugin.client.delete("/api/connect/workflows/pic")).status == 204  # while `late` runs
        plugin.engine.resume()
        for job_id, color in ((second["id"], (255, 0, 0)), (late["id"], (0, 0, 255))):
            done = await plugin.finished(job_id)
            assert done["status"] == "succeeded" and b64_pixel(done["outputs"]["out"][0]) == color, done

    in_cluster(tmp_path, scenario)


def test_an_input_file_travels_with_its_job_to_the_worker(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        await plugin.save("busy", canvas())
        await plugin.save("invert", load_invert())
        plugin.engine.pause()
        busy = await (await plugin.run("busy", params={"async": "1"})).json()
        await plugin.engine.running()
        payload = {"load": {"image": {"type": "file", "content": png_b64((10, 20, 30))}}}
        job = await (await plugin.run("invert", payload, params={"async": "1"})).json()
        stored = [p for p in (plugin.engine.input_dir() / "connect").iterdir() if p.name.startswith("connect-")]
        assert len(stored) == 1
        stored[0].unlink()  # as on a worker that never saw the file: only Redis has it
        plugin.engine.resume()
        assert (await plugin.finished(busy["id"]))["status"] == "succeeded"
        done = await plugin.finished(job["id"])
        assert done["status"] == "succeeded", done
        assert b64_pixel(done["outputs"]["out"][0]) == (245, 235, 225)
        assert not await plugin.connect.jobs.db.client.exists(f"connect:job:{job['id']}:inputs")  # type: ignore[attr-defined]

    in_cluster(tmp_path, scenario)


def test_a_worker_fenced_out_after_a_pause_goes_on_taking_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As SIGSTOP past the lease then SIGCONT: the lease stops renewing, another worker reclaims the job,
    renewal resumes and finds it lost; this worker discards its run and takes the next job. On resuming,
    every Redis read in flight times out at once, and the cancel watcher's read swallows the cancel that
    ends it (redis-py under asyncio.timeout on Python 3.11): the watcher must end all the same, or the
    take loop waits for it forever (the stall the failover e2e test saw now and then)."""

    async def scenario(plugin: Plugin, _: RedisServer) -> None:
        jobs = plugin.connect.jobs
        assert isinstance(jobs, ClusterJobs) and plugin.connect.cluster is not None
        watching = asyncio.Event()

        async def read_swallowing_its_cancel(job_id: str) -> str | None:
            watching.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:  # taken for the socket timeout, as redis-py does
                raise Unreachable("TimeoutError: Timeout reading from socket") from None
            return None

        monkeypatch.setattr(jobs.db, "cancel_reason", read_swallowing_its_cancel)
        await plugin.save("steps", steps(3))
        plugin.engine.pause()
        held = await (await plugin.run("steps", params={"async": "1"})).json()
        await plugin.engine.running()
        await watching.wait()
        worker = plugin.connect.cluster.running.__self__  # type: ignore[attr-defined]  # its heartbeat is a method of it
        monkeypatch.setattr(worker.lease, "_renew_once", lambda *_: None)  # frozen: nothing renews the hold
        for _try in range(100):  # the lease lapses: "other" reclaims the job, as the surviving worker does
            got = await jobs.db.next_entry("other", 1000, 100)
            if got is not None and got[1] == held["id"]:
                break
            await asyncio.sleep(0.1)
        assert got is not None and got[1] == held["id"]
        taken = await jobs.db.take(held["id"], got[0], "other", 3)
        assert (taken.verdict, taken.attempt) == ("run", 2)
        monkeypatch.undo()  # resumed: the next renewal finds the job lost and stops its run here
        monkeypatch.setattr(jobs.db, "cancel_reason", read_swallowing_its_cancel)
        for _wait in range(100):
            if worker.current is None:
                break
            await asyncio.sleep(0.05)
        assert worker.current is None, "the take loop still holds the lost job"
        plugin.engine.resume()
        done = await (await plugin.run("steps", params={"async": "1"})).json()
        ended = await jobs.wait(done["id"], 10)
        assert ended is not None and ended.status == "succeeded" and ended.instance == ME, ended
        stored = await jobs.db.load(held["id"])
        assert stored is not None and (stored.owner, stored.attempt) == ("other", 2)  # its run was not this worker's to end

    in_cluster(tmp_path, scenario, cluster_lease=1.0)
