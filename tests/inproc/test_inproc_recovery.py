"""Jobs across a crash, on the fake engine: the first plugin's loop ends mid-run (nothing is closed or
finished, as with kill -9), a second plugin starts on the same folders and recovers from the store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from support.fake_engine import FakeEngine
from support.filehost import FileHost
from support.images import png_b64
from support.inproc import Plugin, b64_pixel, canvas
from support.suites import WEBHOOK_SECRET
from support.workflows import file_input, link, node

from connect.plugin import setup
from connect.run.jobs import JobRecord, WebhookState
from connect.run.jobstore_sqlite import SqliteJobStore
from connect.run.watch import WatchedJobs
from connect.settings import Settings

Scenario = Callable[[Plugin], Awaitable[Any]]


def life(root: Path, scenario: Scenario, alive: bool = True, **settings: Any) -> Any:
    """One life of ComfyUI: the plugin on a fake engine over `root`; whatever runs when it ends is cut off.
    `alive=False`: ComfyUI's worker has not started yet (so recovery waits) until the scenario says."""

    async def main() -> Any:
        engine = FakeEngine(root)
        engine.alive = alive
        connect = setup(engine, Settings(**settings))
        async with TestClient(TestServer(engine.serve())) as client:
            return await scenario(Plugin(engine, connect, client))

    return asyncio.run(main())


async def ended(plugin: Plugin, job_id: str) -> dict[str, Any]:
    """The job once it has ended: recovery runs on its own task, so this polls (bounded, not timed)."""
    for _ in range(600):
        job = await plugin.job(job_id)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end: {job}")


def hooks(host: FileHost) -> dict[str, int]:
    counted: dict[str, int] = {}
    for delivery in host.deliveries:
        job_id = delivery.json()["data"]["id"]
        counted[job_id] = counted.get(job_id, 0) + 1
    return counted


WEBHOOKS: dict[str, Any] = {"webhook_secret": WEBHOOK_SECRET, "allow_private_urls": True}


async def post(plugin: Plugin, host: FileHost, color: int) -> Any:
    params = {"async": "1", "webhook": host.hook}
    return await plugin.run("canvas", {"canvas": {"color": color}}, params=params, headers={"Idempotency-Key": f"k{color}"})


def in_file(root: Path, job_id: str) -> str | None:
    """The job's status in the store's file (what a restart reads), not in its memory."""
    with contextlib.closing(sqlite3.connect(root / "user" / "connect" / "jobs.sqlite3")) as db:
        row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else str(row[0])


async def stored_status(plugin: Plugin, job_id: str, status: str) -> None:
    """Once the file says so (the running state is written by a task of its own, not awaited)."""
    for _ in range(600):
        if await asyncio.to_thread(in_file, plugin.engine.root, job_id) == status:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"job {job_id} never stored as {status}")


def test_after_a_crash_queued_jobs_run_in_order_and_the_running_one_fails_as_restarted(tmp_path: Path) -> None:
    host = FileHost()
    try:

        async def before(plugin: Plugin) -> list[str]:
            await plugin.save("canvas", canvas())
            plugin.engine.pause()
            ids = []
            for color in (1, 2, 3):
                response = await plugin.run(
                    "canvas",
                    {"canvas": {"color": color}},
                    params={"async": "1", "webhook": host.hook},
                    headers={"Idempotency-Key": f"k{color}"},
                )
                assert response.status == 202, await response.text()
                ids.append((await response.json())["id"])
            first = await plugin.job(ids[0])
            await plugin.engine.running(first["prompt_id"])
            await stored_status(plugin, ids[0], "running")
            return ids

        ids = life(tmp_path, before, **WEBHOOKS)
        assert host.deliveries == []

        async def after(plugin: Plugin) -> tuple[list[dict[str, Any]], list[str], bool]:
            jobs = [await ended(plugin, job_id) for job_id in ids]
            order = [job["prompt_id"] for job in jobs[1:]]
            replay = await post(plugin, host, 2)
            assert replay.status in (200, 202) and replay.headers["Idempotent-Replayed"] == "true"
            assert (await replay.json())["id"] == ids[1]
            ran = [p for p in plugin.engine.history if p in order]  # the engine's history is in the order prompts ended
            return jobs, [plugin.engine.history[p]["status"]["status_str"] for p in order], ran == order

        jobs, statuses, in_order = life(tmp_path, after, **WEBHOOKS)
        running, *queued = jobs
        assert running["status"] == "failed" and running["error"]["type"] == "server_restarted"
        assert "restart" in running["error"]["message"]
        assert [job["status"] for job in queued] == ["succeeded", "succeeded"] and statuses == ["success", "success"]
        assert all(job["outputs"] for job in queued)
        assert in_order  # run again in the order they were accepted (timestamps can tie within a millisecond)
        host.wait_for(3)
        assert hooks(host) == dict.fromkeys(ids, 1)
        types = {d.json()["data"]["id"]: d.json()["type"] for d in host.deliveries}
        assert types == {ids[0]: "job.failed", ids[1]: "job.succeeded", ids[2]: "job.succeeded"}
    finally:
        host.close()


def test_a_webhook_not_yet_delivered_at_the_crash_is_sent_after_the_restart(tmp_path: Path) -> None:
    host = FileHost()
    try:
        path = tmp_path / "user" / "connect" / "jobs.sqlite3"
        record = JobRecord(id="owed", workflow="canvas", prompt_id="p", owner=None, timeout=60, status="succeeded", finished_at=1e10)
        record.webhook = WebhookState(host.hook, attempts=1)  # the first attempt was in flight when ComfyUI died
        delivered = JobRecord(id="done", workflow="canvas", prompt_id="q", owner=None, timeout=60, status="failed", finished_at=1e10)
        delivered.webhook = WebhookState(host.hook, state="delivered", attempts=1)

        async def write() -> None:
            store = SqliteJobStore.open(path, 10, 1e9, 1e9)
            await store.put(record)
            await store.put(delivered)
            store.close()

        asyncio.run(write())

        async def after(plugin: Plugin) -> dict[str, Any]:
            for _ in range(600):
                job = await plugin.job("owed")
                if job["webhook"]["state"] != "pending":
                    return job
                await asyncio.sleep(0.05)
            raise AssertionError("the owed webhook was not sent")

        job = life(tmp_path, after, **WEBHOOKS)
        assert job["webhook"]["state"] == "delivered" and job["webhook"]["attempts"] == 2
        assert hooks(host) == {"owed": 1}  # the delivered one is not sent again
        assert host.deliveries[0].headers["webhook-id"] == "msg_owed"  # the same id: a receiver can tell a repeat
    finally:
        host.close()


def test_with_the_memory_store_a_restart_forgets_jobs(tmp_path: Path) -> None:
    async def before(plugin: Plugin) -> str:
        await plugin.save("canvas", canvas())
        response = await plugin.run("canvas")
        assert response.status == 200
        return str(response.headers["X-Connect-Job-Id"])

    job_id = life(tmp_path, before, jobs_store="memory")

    async def after(plugin: Plugin) -> int:
        return (await plugin.client.get(f"/api/connect/jobs/{job_id}")).status

    assert life(tmp_path, after, jobs_store="memory") == 404
    assert not (tmp_path / "user" / "connect" / "jobs.sqlite3").exists()


def test_a_queued_job_whose_workflow_was_deleted_fails_with_the_reason(tmp_path: Path) -> None:
    async def before(plugin: Plugin) -> list[str]:
        await plugin.save("canvas", canvas())
        await plugin.save("gone", canvas())
        plugin.engine.pause()
        ids = []
        for name in ("canvas", "gone"):
            response = await plugin.run(name, params={"async": "1"})
            ids.append((await response.json())["id"])
        await plugin.engine.running()
        deleted = await plugin.client.delete("/api/connect/workflows/gone")
        assert deleted.status in (200, 204), await deleted.text()
        return ids

    ids = life(tmp_path, before)

    async def after(plugin: Plugin) -> dict[str, Any]:
        return await ended(plugin, ids[1])

    job = life(tmp_path, after)
    assert job["status"] == "failed" and job["error"]["type"] == "not_found" and "gone" in job["error"]["message"]
    assert json.dumps(job)  # a whole, renderable record


def test_files_sent_to_a_job_still_queued_at_the_crash_are_kept_until_it_runs(tmp_path: Path) -> None:
    load = {
        "1": node("LoadImage", "Load $load", image="example.png"),
        "2": node("SaveImage", "Save #out", images=link("1"), filename_prefix="t"),
    }
    folder = tmp_path / "input" / "connect"

    async def before(plugin: Plugin) -> str:
        await plugin.save("canvas", canvas())
        await plugin.save("load", load)
        plugin.engine.pause()
        await plugin.run("canvas", params={"async": "1"})
        await plugin.engine.running()
        response = await plugin.run("load", {"load": {"image": file_input(png_b64((10, 20, 30)))}}, params={"async": "1"})
        assert response.status == 202, await response.text()
        return str((await response.json())["id"])

    job_id = life(tmp_path, before)
    (sent,) = folder.iterdir()
    other = folder / ("connect-" + "0" * 32 + ".png")  # a stored file no job names: the sweeps remove it

    async def after(plugin: Plugin) -> dict[str, Any]:
        other.write_bytes(sent.read_bytes())
        for _ in range(500):  # until a sweep ran (every 0.05 s; files older than 0.001 s may go)
            if not other.exists():
                break
            await asyncio.sleep(0.02)
        assert not other.exists(), "no sweep ran"
        assert sent.exists(), "the file of a job waiting to be re-queued was swept"
        plugin.engine.alive = True  # ComfyUI's worker starts: recovery re-queues the job
        return await ended(plugin, job_id)

    job = life(tmp_path, after, alive=False, input_ttl=0.001, input_sweep=0.05)
    assert job["status"] == "succeeded", job
    assert b64_pixel(job["outputs"]["out"][0]) == (10, 20, 30)


def test_a_run_the_store_cannot_keep_is_refused_and_not_queued(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        watched = plugin.connect.jobs.store
        assert isinstance(watched, WatchedJobs)  # statistics watch the writes (run/watch.py)
        store = watched.store
        assert isinstance(store, SqliteJobStore)
        await asyncio.get_running_loop().run_in_executor(store._thread, store._db.close)  # the disk went away
        response = await plugin.run("canvas")
        assert response.status == 503, await response.text()
        error = (await response.json())["error"]
        assert error["type"] == "unavailable" and "job store" in error["message"]
        assert plugin.engine.queue_depth() == 0 and plugin.engine.history == {}

    life(tmp_path, scenario)


def test_a_synchronous_answer_comes_after_its_job_is_written_finished(tmp_path: Path) -> None:
    """The caller holds the outputs: a crash after that must not turn the job into a failure (or run it again)."""

    async def scenario(plugin: Plugin) -> None:
        await plugin.save("canvas", canvas())
        for color in range(5):
            response = await plugin.run("canvas", {"canvas": {"color": color}})
            assert response.status == 200, await response.text()
            assert in_file(tmp_path, response.headers["X-Connect-Job-Id"]) == "succeeded"  # read at once, before any await

    life(tmp_path, scenario)
