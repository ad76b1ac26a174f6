"""Readiness in the cluster (issue 15) on the fake engine and a real redis-server: the worker's heartbeat
names the endpoints it cannot run, the accepting instance refuses (409) only when no live worker can run
one, and a worker hands back a job it cannot run until every live worker has refused it."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from support.images import png_b64
from support.inproc import Plugin, b64_pixel, run
from support.redis_server import RedisServer
from support.workflows import file_input, link, node

from connect.cluster.link import PREFIX
from connect.cluster.node import Cluster

ME = "inproc-w"
MISSING_PICTURE = {
    "kind": "input_file",
    "node_id": "1",
    "class_type": "LoadImage",
    "title": "Picture $picture",
    "input": "image",
    "value": "missing.png",
}


def picture() -> dict[str, Any]:
    """LoadImage of a file the input folder lacks -> ImageInvert -> SaveImage."""
    return {
        "1": node("LoadImage", "Picture $picture", image="missing.png"),
        "2": node("ImageInvert", "", image=link("1")),
        "3": node("SaveImage", "Save #out", images=link("2"), filename_prefix="t"),
    }


def in_cluster(tmp_path: Path, scenario: Callable[[Plugin], Awaitable[None]], role: str = "both") -> None:
    async def wrapped(plugin: Plugin) -> None:
        try:
            await scenario(plugin)
        finally:
            await cluster_of(plugin).stop()

    with RedisServer(tmp_path / "redis") as redis_server:
        run(tmp_path, wrapped, cluster_url=redis_server.url, cluster_role=role, instance_id=ME, cluster_heartbeat=0.2)


async def until(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := await check()):
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)
    return found


def cluster_of(plugin: Plugin) -> Cluster:
    cluster = plugin.connect.cluster
    assert isinstance(cluster, Cluster)
    return cluster


async def my_report(plugin: Plugin) -> dict[str, Any]:
    listing = await cluster_of(plugin).listing()
    mine = [m for m in listing["instances"] if m["id"] == ME]  # none before its first heartbeat
    return dict(mine[0].get("unready") or {}) if mine else {}


def test_a_run_no_live_worker_can_serve_is_refused_at_once_naming_what_is_missing(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("pic", picture())
        report = await until(lambda: my_report(plugin), "the heartbeat reports pic not ready")
        assert report["pic"]["missing"] == [MISSING_PICTURE] and report["pic"]["more"] == 0
        saved = cluster_of(plugin).store.local.raw("pic") or b""
        assert hashlib.sha256(saved).hexdigest().startswith(report["pic"]["hash"])
        response = await plugin.run("pic")
        error = (await response.json())["error"]
        assert response.status == 409 and error["type"] == "endpoint_not_ready"
        assert error["details"] == {"name": "pic", "missing": [MISSING_PICTURE], "workers": [ME]}
        assert (await plugin.client.get("/api/connect/jobs")).status == 200
        assert (await (await plugin.client.get("/api/connect/jobs")).json())["jobs"] == []  # nothing queued
        # A caller's file stands in for the missing one: accepted, and the worker runs it.
        sent = await plugin.run("pic", {"picture": {"image": file_input(png_b64((255, 255, 255)))}})
        assert sent.status == 200, await sent.text()
        assert sent.headers["X-Connect-Instance"] == ME and b64_pixel((await sent.json())["out"][0]) == (0, 0, 0)

    in_cluster(tmp_path, scenario)


def test_a_worker_hands_back_a_job_it_cannot_run_and_it_fails_once_every_live_worker_refused_it(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        cluster = cluster_of(plugin)
        await plugin.save("pic", picture())
        await until(lambda: my_report(plugin), "the heartbeat reports pic not ready")
        # Another worker that says it can run everything (it never takes anything), until it leaves below.
        await cluster.link.beat("ghost", {"id": "ghost", "role": "worker", "state": "idle"}, 600.0, time.time())
        accepted = await plugin.run("pic", params={"async": "1"})
        assert accepted.status == 202, await accepted.text()
        job_id = (await accepted.json())["id"]
        jobs = plugin.connect.jobs
        db = jobs.db  # type: ignore[attr-defined]

        async def refused_here() -> bool:
            stored = await db.load(job_id)
            return stored is not None and ME in stored.refused

        await until(refused_here, "the worker refused the job")
        while_ghost = await plugin.job(job_id)
        # Handed back, not failed, and no attempt burnt: the ghost may take it.
        assert while_ghost["status"] == "queued" and while_ghost["attempts"] == 0
        await cluster.link.client.delete(PREFIX + "instance:ghost")  # as its heartbeat expiring: the ghost is gone
        ended = await plugin.finished(job_id)  # every live worker has refused it now
        assert ended["status"] == "failed" and ended["instance"] == ME
        assert ended["error"]["type"] == "endpoint_not_ready"
        assert ended["error"]["details"] == {"name": "pic", "missing": [MISSING_PICTURE], "workers": [ME]}
        assert await db.queued() == 0

    in_cluster(tmp_path, scenario)


def test_an_api_box_without_the_file_accepts_the_run_when_no_worker_is_live_it_waits(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("pic", picture())
        described = await (await plugin.client.get("/api/connect/workflows/pic")).json()
        assert described["ready"] is False  # this box lacks the file: no reason to refuse a job others run
        await until(lambda: cluster_of(plugin).link.members(), "the api box's own heartbeat")
        accepted = await plugin.run("pic", params={"async": "1"})
        assert accepted.status == 202, await accepted.text()
        job = await plugin.job((await accepted.json())["id"])
        assert job["status"] == "queued" and job["instance"] is None
        listing = await cluster_of(plugin).listing()
        assert "unready" not in listing["instances"][0]  # an api box runs nothing, so reports nothing

    in_cluster(tmp_path, scenario, role="api")


def test_a_synchronous_run_its_only_worker_refuses_answers_409_as_on_one_machine(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        cluster = cluster_of(plugin)

        async def worker_started() -> bool:
            return cluster.unready is not None

        await until(worker_started, "the worker started")
        cluster.unready = dict  # a stale report (the file was removed since): the accepting box lets it through
        await plugin.save("pic", picture())
        await until(lambda: cluster.link.members(), "the first heartbeat")
        response = await plugin.run("pic")
        error = (await response.json())["error"]
        assert response.status == 409 and error["type"] == "endpoint_not_ready"
        assert error["details"] == {"name": "pic", "missing": [MISSING_PICTURE], "workers": [ME]}
        job = await plugin.job(response.headers["X-Connect-Job-Id"])
        assert job["status"] == "failed" and job["attempts"] == 1  # failed by the worker, once: no back and forth

    in_cluster(tmp_path, scenario)
