"""The statistics of cluster jobs, on the fake engine and a real redis-server: the worker counts the runs it
ends, the accepting instance the arrivals (once), a take after a lapsed lease counts a reclaim, and the
queue of GET /api/connect/cluster is connect:jobs as Redis holds it (depth, oldest wait, pending, dead)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from support.inproc import Plugin, run, steps
from support.redis_server import RedisServer

from connect.cluster.jobs import ClusterJobs
from connect.cluster.node import Cluster

ME = "inproc-s"


def in_cluster(tmp_path: Path, scenario: Any, **settings: Any) -> None:
    async def wrapped(plugin: Plugin) -> None:
        cluster = plugin.connect.cluster
        assert isinstance(cluster, Cluster) and isinstance(plugin.connect.jobs, ClusterJobs)
        try:
            await scenario(plugin)
        finally:
            await cluster.stop()

    with RedisServer(tmp_path / "redis") as redis_server:
        run(tmp_path, wrapped, cluster_url=redis_server.url, cluster_role="both", instance_id=ME, cluster_heartbeat=0.2, **settings)


def snapshot(plugin: Plugin) -> dict[str, Any]:
    assert plugin.connect.overview is not None
    return plugin.connect.overview.stats.snapshot()


async def overview(plugin: Plugin) -> dict[str, Any]:
    response = await plugin.client.get("/api/connect/cluster")
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def published_runs(plugin: Plugin, expected: int = 3) -> int:
    """This instance's runs as its heartbeat (every 0.2 s here) publishes them, once they reach `expected`."""
    runs = -1
    for _ in range(100):
        runs = next(m for m in (await overview(plugin))["instances"] if m["id"] == ME)["runs"]
        if runs == expected:
            break
        await asyncio.sleep(0.05)
    return int(runs)


async def attempt_reaches(jobs: ClusterJobs, job_id: str, attempt: int) -> None:
    for _ in range(300):
        if (stored := await jobs.db.load(job_id)) is not None and stored.attempt >= attempt:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached attempt {attempt}")


def test_cluster_jobs_are_counted_once_and_the_queue_is_read_from_redis(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("steps", steps(3))
        plugin.engine.pause()  # the worker holds the first job; the next two wait in connect:jobs
        first = await (await plugin.run("steps", params={"async": "1"})).json()
        await plugin.engine.running()
        second = await (await plugin.run("steps", params={"async": "1"})).json()
        third = await (await plugin.run("steps", params={"async": "1"})).json()
        queues = (await overview(plugin))["queues"]
        assert list(queues) == ["connect:jobs"], queues  # Redis's queue, not the heartbeats' local ones
        queue = queues["connect:jobs"]
        assert (queue["depth"], queue["pending"], queue["dead_lettered"]) == (2, 1, 0), queue
        assert queue["oldest_age"] is not None and queue["oldest_age"] >= 0
        assert queue["workflows"]["steps"]["depth"] == 2
        assert (await overview(plugin))["autoscale"]["workflows"]["steps"]["queued"] == 2
        assert (await plugin.client.delete(f"/api/connect/jobs/{third['id']}")).status == 200  # ends here, untaken
        plugin.engine.resume()
        for job in (first, second):
            assert (await plugin.finished(job["id"]))["status"] == "succeeded"
        stats = snapshot(plugin)
        assert (stats["runs"], stats["failures"], stats["cancelled"], stats["reclaims"]) == (3, 0, 1, 0), stats
        assert stats["by_workflow"]["steps"]["runs"] == 3
        assert stats["by_workflow"]["steps"]["mean_run_seconds"] is not None
        # three arrivals and three ends over the same window: each job arrived once, not once more when taken
        assert stats["by_workflow"]["steps"]["arrivals_per_minute"] == stats["jobs_per_minute"] > 0
        assert await published_runs(plugin) == 3  # its heartbeat carries them to every instance's page
        queue = (await overview(plugin))["queues"]["connect:jobs"]
        assert (queue["depth"], queue["pending"], queue["oldest_age"]) == (0, 0, None), queue

    in_cluster(tmp_path, scenario)


def test_a_take_after_a_lapsed_lease_counts_a_reclaim_and_a_dead_job_is_listed(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("steps", steps(3))
        jobs = plugin.connect.jobs
        assert isinstance(jobs, ClusterJobs)
        plugin.engine.pause()
        job = await (await plugin.run("steps", params={"async": "1"})).json()
        await attempt_reaches(jobs, job["id"], 1)
        # As if another worker had taken it since and died: this worker loses it, then reclaims it (attempt 3).
        await jobs.db.client.hset(f"connect:job:{job['id']}", mapping={"attempt": 2, "owner": "ghost"})
        await attempt_reaches(jobs, job["id"], 3)
        plugin.engine.resume()
        assert (await plugin.finished(job["id"]))["attempts"] == 3
        stats = snapshot(plugin)
        assert (stats["runs"], stats["reclaims"]) == (1, 1), stats  # the lost attempt ended nowhere here

        plugin.engine.pause()
        dead = await (await plugin.run("steps", params={"async": "1"})).json()
        await attempt_reaches(jobs, dead["id"], 1)
        await jobs.db.client.hset(f"connect:job:{dead['id']}", mapping={"attempt": 3, "owner": "ghost"})
        ended = await jobs.wait(dead["id"], 30)
        assert ended is not None and ended.error is not None and ended.error["type"] == "dead_lettered"
        plugin.engine.resume()
        assert (await overview(plugin))["queues"]["connect:jobs"]["dead_lettered"] == 1
        stats = snapshot(plugin)
        assert (stats["runs"], stats["failures"], stats["reclaims"]) == (2, 1, 2), stats

    in_cluster(tmp_path, scenario, cluster_lease=1.0, cluster_attempts=3)
