"""Workers that die or freeze mid-job, on one real Redis and three real ComfyUI processes: box-a (api)
takes the runs, box-b and box-c (workers) execute them; leases of 2 s, at most 2 attempts per job.

kill -9 of the worker running a job: the other worker finishes it (attempts 2), one result, one webhook.
SIGSTOP of it past its lease, then SIGCONT: the late result is discarded. Both workers killed in turn:
the job fails as dead_lettered with its history. Each test brings every box back (restart) after it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.client import Client
from support.cluster import Box, Fleet, cancel, cancel_unfinished, deliveries, fleet_fixture, running
from support.filehost import FileHost
from support.images import assert_color, decode, rgb_of
from support.sse import stream
from support.workflows import slow_workflow

pytestmark = pytest.mark.e2e
LEASE = 2.0
ATTEMPTS = 2


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    roles = {"box-a": "api", "box-b": "worker", "box-c": "worker"}
    yield from fleet_fixture(tmp_path_factory.mktemp("jobs-failover"), roles, lease=LEASE, attempts=ATTEMPTS)


@pytest.fixture(scope="module")
def api(fleet: Fleet) -> Client:
    fleet.saved("slow", slow_workflow())
    return fleet.box("box-a").client


@pytest.fixture
def healed(fleet: Fleet, api: Client) -> Iterator[Fleet]:
    """The fleet whole before the test, and made whole again after it (killed boxes restarted)."""
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


def runs_prompt(box: Box, prompt_id: str, timeout: float = 60) -> None:
    """Wait until this box's own ComfyUI runs the prompt (the same prompt id on every attempt)."""
    deadline = time.monotonic() + timeout
    while prompt_id not in [item[1] for item in box.client.queue()["queue_running"]]:
        assert time.monotonic() < deadline, f"{box.name}'s ComfyUI never ran {prompt_id}"
        time.sleep(0.05)


def the_other(fleet: Fleet, box: Box) -> Box:
    (other,) = [b for b in fleet.named("worker") if b is not box]
    return other


def delivered(api: Client, job_id: str) -> dict[str, Any]:
    return api.until(job_id, lambda j: j["webhook"] is not None and j["webhook"]["state"] == "delivered", "webhook delivered")


def taken(api: Client, job_id: str, free: Box) -> str:
    """The instance that took the job; failing, what the free box's ComfyUI and heartbeat said meanwhile."""
    try:
        return str(api.until(job_id, lambda j: j["instance"] is not None, f"taken while {free.name} is free")["instance"])
    except AssertionError as failed:
        beats = api.call("GET", "/api/connect/cluster").json()["instances"]
        said = {"queue": free.client.queue(), "heartbeat": [b for b in beats if b["id"] == free.name]}
        raise AssertionError(f"{failed}\n{free.name} meanwhile: {said}") from None


def takes_jobs(fleet: Fleet, api: Client, box: Box) -> None:
    """`box` takes jobs again: slow jobs posted one by one, each left running, until one runs on `box`
    (at the latest once every other worker is busy). All of them are cancelled after."""
    started: list[dict[str, Any]] = []
    try:
        while True:
            started.append(api.start("slow", slow(0x0A0B0C, 120)))
            where = taken(api, started[-1]["id"], box)
            if where == box.name:
                return
            assert len(started) < len(fleet.named("worker")), f"{box.name} took no job while every other worker was busy"
    finally:
        for job in started:
            cancel(api, job["id"])
        for worker in fleet.named("worker"):
            worker.client.wait_idle(30)


def test_a_worker_killed_mid_job_its_job_finishes_on_the_other_worker(healed: Fleet, api: Client, receiver: FileHost) -> None:
    job = api.start("slow", slow(0x112233, 4), {"webhook": receiver.hook})
    victim = healed.box(running(api, job["id"])["instance"])
    survivor = the_other(healed, victim)
    victim.kill()
    done = api.finished(job["id"], timeout=120)
    assert done["status"] == "succeeded", done
    assert done["instance"] == survivor.name and done["attempts"] == 2, done
    (image,) = done["outputs"]["out"]  # one result
    assert_color(decode(image), rgb_of(0x112233))
    assert survivor.client.history(done["prompt_id"])["status"]["status_str"] == "success"
    delivered(api, job["id"])
    assert deliveries(receiver) == {job["id"]: ["job.succeeded"]}
    # The killed box comes back: it neither runs the job again nor changes its record.
    victim.restart()
    healed.wait_members({box.name for box in healed.boxes})
    takes_jobs(healed, api, victim)
    again = api.job(job["id"])
    assert (again["status"], again["instance"], again["attempts"], again["outputs"]) == ("succeeded", survivor.name, 2, done["outputs"])
    assert deliveries(receiver) == {job["id"]: ["job.succeeded"]}


def test_a_worker_frozen_past_its_lease_loses_the_job_and_its_late_result_is_discarded(
    healed: Fleet, api: Client, receiver: FileHost
) -> None:
    job = api.start("slow", slow(0x223344, 3), {"webhook": receiver.hook})
    first = running(api, job["id"])
    victim = healed.box(first["instance"])
    survivor = the_other(healed, victim)
    victim.pause()  # SIGSTOP: it holds the job, renews nothing, says nothing
    api.until(job["id"], lambda j: j["instance"] == survivor.name and j["attempts"] == 2, "reclaimed by the other worker", 60)
    done = api.finished(job["id"], timeout=120)
    assert done["status"] == "succeeded" and done["instance"] == survivor.name and done["attempts"] == 2, done
    delivered(api, job["id"])
    victim.resume()  # SIGCONT: its slow node goes on to its end, and it tries to hand in its result
    victim.client.wait_idle(60)
    assert victim.client.history_size() >= 1  # it did finish its own run of the job
    healed.wait_members({box.name for box in healed.boxes})  # its heartbeat (and so its event loop) is back
    takes_jobs(healed, api, victim)  # and it serves again
    again = api.job(job["id"])
    assert (again["status"], again["instance"], again["attempts"], again["outputs"]) == ("succeeded", survivor.name, 2, done["outputs"])
    assert deliveries(receiver) == {job["id"]: ["job.succeeded"]}  # one webhook
    names = [name for _, name, _ in stream(api, job["id"])]
    assert names.count("succeeded") == 1 and names[-1] == "succeeded", names


def test_a_job_whose_workers_keep_dying_is_dead_lettered_with_its_history(healed: Fleet, api: Client, receiver: FileHost) -> None:
    job = api.start("slow", slow(0x334455, 120), {"webhook": receiver.hook})
    first = healed.box(running(api, job["id"])["instance"])
    second = the_other(healed, first)
    first.kill()
    runs_prompt(second, job["prompt_id"])  # attempt 2 (its ComfyUI is the witness: see the next test for the record)
    second.kill()
    first.restart()  # the only worker left finds the second lease expired, with no attempt left
    done = api.finished(job["id"], timeout=120)
    assert done["status"] == "failed", done
    error = done["error"]
    assert error["type"] == "dead_lettered" and error["message"], error
    history = error["details"]["history"]
    assert [(h["attempt"], h["instance"]) for h in history] == [(1, first.name), (2, second.name)], history
    assert all(isinstance(h["reason"], str) and h["reason"] for h in history), history
    assert first.client.history_size() == 0  # not run a third time
    delivered(api, job["id"])
    assert deliveries(receiver) == {job["id"]: ["job.failed"]}


def test_while_a_reclaimed_job_runs_every_box_shows_its_new_worker_and_attempt(healed: Fleet, api: Client) -> None:
    job = api.start("slow", slow(0x445566, 8))
    victim = healed.box(running(api, job["id"])["instance"])
    survivor = the_other(healed, victim)
    victim.kill()
    runs_prompt(survivor, job["prompt_id"])
    for box in healed.boxes:
        if box is not victim:
            now = box.client.until(job["id"], lambda j: j["instance"] == survivor.name, f"shown running on {survivor.name}", 5)
            assert (now["status"], now["attempts"]) == ("running", 2), (box.name, now)
    assert api.finished(job["id"], timeout=60)["attempts"] == 2
