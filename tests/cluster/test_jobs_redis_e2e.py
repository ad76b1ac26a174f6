"""The cluster's Redis going away, with real processes: box-a (api) and box-b (worker) on one real
redis-server with AOF on. Restarted with jobs queued and running: nothing accepted is lost. Stopped: runs
answer 503 cluster_unavailable with Retry-After, and the boxes recover by themselves when it is back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.client import Client, wait_until
from support.cluster import Fleet, cancel_unfinished, deliveries, fleet_fixture, running
from support.errors import assert_error
from support.filehost import FileHost
from support.images import assert_color, decode, rgb_of
from support.workflows import slow_workflow

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    roles = {"box-a": "api", "box-b": "worker"}
    yield from fleet_fixture(tmp_path_factory.mktemp("jobs-redis"), roles, lease=2.0, aof=True)


@pytest.fixture(scope="module")
def api(fleet: Fleet) -> Client:
    fleet.saved("slow", slow_workflow())
    return fleet.box("box-a").client


@pytest.fixture
def healed(fleet: Fleet, api: Client) -> Iterator[Fleet]:
    fleet.heal()
    yield fleet
    fleet.heal()
    cancel_unfinished(api)


@pytest.fixture
def receiver() -> Iterator[FileHost]:
    hook = FileHost()
    yield hook
    hook.close()


def slow(color: int, seconds: float) -> dict[str, Any]:
    return {"canvas": {"color": color}, "slow": {"seconds": seconds}}


def test_redis_restarted_with_jobs_queued_and_running_loses_none(healed: Fleet, api: Client, receiver: FileHost) -> None:
    colors = [0x102030, 0x203040, 0x304050]
    jobs = [api.start("slow", slow(color, 3), {"webhook": receiver.hook}) for color in colors]
    running(api, jobs[0]["id"])  # one worker: the first runs, the others wait in Redis
    assert [api.job(job["id"])["status"] for job in jobs[1:]] == ["queued", "queued"]
    healed.redis.stop()  # SIGTERM: Redis writes its AOF and exits
    healed.redis.start()  # the same port and data directory
    for job, color in zip(jobs, colors, strict=True):
        done = api.finished(job["id"], timeout=120)
        assert done["status"] == "succeeded", done
        (image,) = done["outputs"]["out"]
        assert_color(decode(image), rgb_of(color))
    for job in jobs:
        api.until(job["id"], lambda j: j["webhook"]["state"] == "delivered", "webhook delivered")
    assert deliveries(receiver) == {job["id"]: ["job.succeeded"] for job in jobs}
    listed = {j["id"] for j in api.call("GET", "/api/connect/jobs").json()["jobs"]}
    assert {job["id"] for job in jobs} <= listed


def refused(client: Client) -> bool:
    """Whether a run sent to `client` now answers 503 (Redis seen gone)."""
    return client.run("slow", slow(0x405060, 0), params={"async": "1"}).status_code == 503


def wait_refused(client: Client, refusing: bool) -> None:
    wait_until(lambda: refused(client) == refusing, 30, f"runs on {client.url} {'refused' if refusing else 'accepted'}")


def test_without_redis_runs_answer_503_and_the_boxes_recover_when_it_is_back(healed: Fleet, api: Client) -> None:
    worker = healed.box("box-b").client
    healed.redis.stop()
    try:
        for client in (api, worker):
            wait_refused(client, True)
            response = client.run("slow", slow(0x405060, 0))
            error = assert_error(response, 503, "cluster_unavailable")
            assert int(response.headers["Retry-After"]) >= 1, response.headers
            assert "redis" in error["message"].lower() or "cluster" in error["message"].lower(), error
    finally:
        healed.redis.start()
    for client in (api, worker):
        wait_refused(client, False)
    response = api.run("slow", slow(0x506070, 0))
    assert response.status_code == 200, response.text
    assert response.headers["X-Connect-Instance"] == "box-b"
