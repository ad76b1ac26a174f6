"""A worker that stops holding its job loses it: a real redis-server, an `api` ComfyUI and two `worker`
ComfyUIs. SIGSTOP of the running worker past its lease: the other one reclaims the job (attempts 2), and
the paused one's late result is discarded after SIGCONT; kill -9 of the running worker: the job finishes
on the other. Each job ends once, with one webhook."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from support.client import Client, wait_until
from support.filehost import FileHost
from support.redis_server import RedisServer
from support.server import prepare, serve
from support.suites import SETTINGS, WEBHOOK_SECRET
from support.twoboxes import by_id, listing
from support.workflows import slow_workflow

pytestmark = pytest.mark.e2e
LEASE = 3.0


@dataclass
class Trio:
    api: Client
    workers: dict[str, Client]
    hooks: FileHost


def env(redis: RedisServer, instance: str, role: str) -> dict[str, str]:
    return {
        **SETTINGS,
        "CONNECT_CLUSTER_URL": redis.url,
        "CONNECT_CLUSTER_ROLE": role,
        "CONNECT_INSTANCE_ID": instance,
        "CONNECT_CLUSTER_HEARTBEAT": "0.5",
        "CONNECT_CLUSTER_LEASE": str(LEASE),
        "CONNECT_ALLOW_PRIVATE_URLS": "1",  # the webhook receiver is on loopback
        "CONNECT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trio]:
    root = tmp_path_factory.mktemp("reclaim")
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer(root / "redis"))
        api = stack.enter_context(serve(prepare(root / "api", test_nodes=True), env(redis, "box-api", "api")))
        workers = {
            name: stack.enter_context(serve(prepare(root / name, test_nodes=True), env(redis, name, "worker"))) for name in ("w1", "w2")
        }
        api.saved("slow", slow_workflow())
        wait_until(lambda: all(w.describe("slow").status_code == 200 for w in workers.values()), 15, "the workflow synced")
        hooks = FileHost()
        stack.callback(hooks.close)
        yield Trio(api, workers, hooks)


def started_on(trio: Trio, seconds: float) -> tuple[str, str]:
    job_id = str(trio.api.start("slow", {"slow": {"seconds": seconds}}, {"webhook": trio.hooks.hook})["id"])
    running = trio.api.until(job_id, lambda j: j["status"] == "running", "running", timeout=60)
    return job_id, str(running["instance"])


def deliveries_of(trio: Trio, job_id: str) -> int:
    return sum(1 for d in trio.hooks.deliveries if d.json()["data"]["id"] == job_id)


def test_a_paused_worker_loses_its_job_and_its_late_result_is_discarded(trio: Trio) -> None:
    job_id, first = started_on(trio, 6)
    paused = trio.workers[first]
    other = next(name for name in trio.workers if name != first)
    assert paused.server.process is not None
    os.killpg(paused.server.process.pid, signal.SIGSTOP)
    try:
        taken = trio.api.until(job_id, lambda j: j["attempts"] == 2, "reclaimed", timeout=LEASE * 5 + 10)
        assert taken["instance"] in (None, other)
    finally:
        os.killpg(paused.server.process.pid, signal.SIGCONT)
    done = trio.api.finished(job_id, timeout=60)
    assert done["status"] == "succeeded" and done["instance"] == other and done["attempts"] == 2
    wait_until(lambda: deliveries_of(trio, job_id) >= 1, 30, "the webhook")
    wait_until(lambda: "another worker holds it" in paused.server.log_tail(400), 30, "the paused worker logs the discard")
    time.sleep(LEASE)  # the paused worker had its chance to send a second one
    assert deliveries_of(trio, job_id) == 1
    assert trio.api.job(job_id)["instance"] == other  # the late result did not overwrite the record

    def counted() -> bool:  # the taker counts the reclaim and the run; the loser's late end counts nowhere
        found = by_id(listing(trio.api))
        return (found.get(other, {}).get("reclaims"), found.get(other, {}).get("runs"), found.get(first, {}).get("runs")) == (1, 1, 0)

    wait_until(counted, 30, "the statistics in the heartbeats")
    found = by_id(listing(trio.api))
    assert found["box-api"]["by_workflow"]["slow"]["arrivals_per_minute"] > 0  # the arrival: where it was accepted
    assert "slow" not in found[other]["by_workflow"] or found[other]["by_workflow"]["slow"]["arrivals_per_minute"] == 0


def test_a_killed_worker_s_job_finishes_on_the_other(trio: Trio) -> None:
    job_id, first = started_on(trio, 4)
    other = next(name for name in trio.workers if name != first)
    trio.workers[first].server.kill()
    done = trio.api.finished(job_id, timeout=LEASE * 5 + 60)
    assert done["status"] == "succeeded" and done["instance"] == other and done["attempts"] == 2
    assert trio.workers[other].job(job_id)["attempts"] == 2
    wait_until(lambda: deliveries_of(trio, job_id) >= 1, 30, "the webhook")
    time.sleep(1.0)
    assert deliveries_of(trio, job_id) == 1
