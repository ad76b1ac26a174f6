"""Distributed jobs on one real Redis and three real ComfyUI processes, over HTTP: box-a (role api, never
executes) takes every run, box-b and box-c (workers) execute them; every box answers for every job.
Nothing here hurts a box: one cluster serves the module (tests/cluster/test_jobs_failover_e2e.py kills)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from support.client import Client
from support.cluster import Fleet, cancel, cancel_unfinished, fleet_fixture, forgotten, running, stopped
from support.errors import assert_error
from support.images import assert_color, decode, rgb_of
from support.sse import stream
from support.workflows import slow_workflow

pytestmark = pytest.mark.e2e
WORKERS = {"box-b", "box-c"}
PER_CLIENT = 3  # CONNECT_MAX_QUEUE_PER_CLIENT: runs in flight per client, counted over the whole cluster


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    roles = {"box-a": "api", "box-b": "worker", "box-c": "worker"}
    env = {"CONNECT_MAX_QUEUE_PER_CLIENT": str(PER_CLIENT)}
    yield from fleet_fixture(tmp_path_factory.mktemp("jobs-cluster"), roles, env=env)


@pytest.fixture(scope="module")
def api(fleet: Fleet) -> Client:
    fleet.saved("slow", slow_workflow())
    return fleet.box("box-a").client


@pytest.fixture
def quiet(fleet: Fleet, api: Client) -> Iterator[Fleet]:
    """No job of an earlier test still in flight on any worker, before and after (a failed test's cancelled)."""
    for box in fleet.named("worker"):
        box.client.wait_idle()
    yield fleet
    cancel_unfinished(api)
    for box in fleet.named("worker"):
        box.client.wait_idle()


def slow(color: int, seconds: float = 0.0) -> dict[str, Any]:
    return {"canvas": {"color": color}, "slow": {"seconds": seconds}}


def test_a_run_posted_to_the_api_box_executes_on_a_worker(quiet: Fleet, api: Client) -> None:
    response = api.run("slow", slow(0x203040, 0.3))
    assert response.status_code == 200, response.text
    instance = response.headers["X-Connect-Instance"]
    assert instance in WORKERS
    assert_color(decode(response.json()["out"][0]), rgb_of(0x203040))
    job = api.job(response.headers["X-Connect-Job-Id"])
    assert job["status"] == "succeeded" and job["instance"] == instance and job["attempts"] == 1, job
    assert quiet.box(instance).client.history(job["prompt_id"])["status"]["status_str"] == "success"
    assert api.history_size() == 0  # the api box's own ComfyUI never ran a prompt


def test_a_worker_box_accepts_runs_too(quiet: Fleet, api: Client) -> None:
    worker = quiet.box("box-b").client
    response = worker.run("slow", slow(0x304050))
    assert response.status_code == 200, response.text
    assert response.headers["X-Connect-Instance"] in WORKERS
    assert api.job(response.headers["X-Connect-Job-Id"])["status"] == "succeeded"


def test_a_job_is_read_listed_and_streamed_from_every_box(quiet: Fleet, api: Client) -> None:
    job = api.start("slow", slow(0x405060, 1.5))
    assert job["attempts"] in (0, 1) and (job["instance"] is None or job["instance"] in WORKERS), job
    seen = running(api, job["id"])
    for box in quiet.boxes:
        record = running(box.client, job["id"])
        assert record["instance"] == seen["instance"] and record["attempts"] == 1, (box.name, record)
        listed = box.client.call("GET", "/api/connect/jobs").json()["jobs"]
        assert job["id"] in [j["id"] for j in listed], box.name
    # A stream opened on a box that does not run the job follows it to its end.
    elsewhere = next(box for box in quiet.boxes if box.name not in (seen["instance"], "box-a"))
    events = stream(elsewhere.client, job["id"])
    names = [name for _, name, _ in events]
    assert names[0] == "queued" and "started" in names and names[-1] == "succeeded", names
    assert events[-1][2]["instance"] == seen["instance"]
    assert [seq for seq, _, _ in events] == sorted({seq for seq, _, _ in events})
    # Replay with Last-Event-ID, from yet another box: only what came after.
    started = next(seq for seq, name, _ in events if name == "started")
    resumed = stream(api, job["id"], {"Last-Event-ID": str(started)})
    assert [seq for seq, _, _ in resumed] == [seq for seq, _, _ in events if seq > started]


def test_a_cancel_sent_to_the_api_box_stops_the_run_on_its_worker(quiet: Fleet, api: Client) -> None:
    job = api.start("slow", slow(0x506070, 120))
    worker = quiet.box(running(api, job["id"])["instance"]).client
    prompt = worker.running_prompt()
    answer = cancel(api, job["id"])
    assert answer["status"] in ("running", "cancelled"), answer
    if answer["status"] == "cancelled":
        assert answer["error"]["details"]["reason"] == "cancelled", answer
    worker.wait_idle(30)  # interrupted: the slow node would otherwise run for two minutes
    assert worker.history(prompt)["status"]["status_str"] == "error"
    stopped(quiet, job["id"])


def test_a_queued_job_is_cancelled_from_a_worker_box_and_never_runs(quiet: Fleet, api: Client) -> None:
    blockers = [api.start("slow", slow(0x607080 + n, 120)) for n in range(2)]
    for blocker in blockers:
        running(api, blocker["id"])  # both workers busy
    waiting = api.start("slow", slow(0x708090))
    assert api.job(waiting["id"])["status"] == "queued"
    answer = cancel(quiet.box("box-c").client, waiting["id"])
    assert answer["status"] == "cancelled" and answer["started_at"] is None, answer
    assert answer["error"]["details"]["reason"] == "cancelled", answer
    for job in blockers:
        cancel(api, job["id"])
    for job in [*blockers, waiting]:
        stopped(quiet, job["id"])
    for box in quiet.named("worker"):
        box.client.wait_idle(30)
        assert box.client.call("GET", f"/history/{waiting['prompt_id']}").json() == {}, box.name


def test_a_cancelled_job_is_forgotten_on_every_box_as_on_one_machine(quiet: Fleet, api: Client) -> None:
    job = api.start("slow", slow(0x5A6B7C, 120))
    running(api, job["id"])
    cancel(quiet.box("box-b").client, job["id"])
    forgotten(quiet, job["id"])  # tests/jobs/test_jobs_cancel.py: after DELETE, GET and DELETE answer 404
    assert job["id"] not in [j["id"] for j in api.call("GET", "/api/connect/jobs").json()["jobs"]]


def test_the_same_idempotency_key_sent_to_two_boxes_at_once_gives_one_job(quiet: Fleet, api: Client) -> None:
    other = quiet.box("box-c").client
    headers = {"Idempotency-Key": "cluster-once-1"}
    with ThreadPoolExecutor(2) as pool:
        calls = [pool.submit(c.run, "slow", slow(0x8090A0, 0.5), params={"async": "1"}, headers=headers) for c in (api, other)]
        answers = [call.result() for call in calls]
    assert all(a.status_code in (200, 202) for a in answers), [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1, [a.json() for a in answers]
    assert sorted(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == [False, True]
    job_id = answers[0].json()["id"]
    assert api.finished(job_id)["status"] == "succeeded"
    workflows = [j for j in api.call("GET", "/api/connect/jobs", params={"workflow": "slow"}).json()["jobs"] if j["id"] == job_id]
    assert len(workflows) == 1


def test_in_flight_runs_are_limited_per_client_across_the_cluster(quiet: Fleet, api: Client) -> None:
    entries = [quiet.box(name).client for name in ("box-a", "box-b", "box-c")]
    jobs = [client.start("slow", slow(0x90A0B0 + n, 120)) for n, client in enumerate(entries[:PER_CLIENT])]
    try:
        for client in entries:  # the limit holds on every box, not per box
            assert_error(client.run("slow", slow(0x90A0C0), params={"async": "1"}), 429, "too_many_requests")
    finally:
        for job in jobs:
            cancel(api, job["id"])
    for job in jobs:
        stopped(quiet, job["id"])
    assert api.run("slow", slow(0x90A0D0)).status_code == 200  # room again


def download(client: Client, job_id: str) -> tuple[str, bytes]:
    """The job's first output as ?output=url shows it on this box: (link, bytes fetched from it)."""
    response = client.call("GET", f"/api/connect/jobs/{job_id}", params={"output": "url"})
    assert response.status_code == 200, response.text
    link = response.json()["outputs"]["out"][0]
    assert link.startswith(client.url), link  # published for the host that was asked
    fetched = requests.get(link, timeout=60)
    assert fetched.status_code == 200, fetched.text
    return link, fetched.content


def test_output_links_work_on_every_box(quiet: Fleet, api: Client) -> None:
    job = api.start("slow", slow(0xA0B0C0), {"output": "url"})
    done = api.finished(job["id"])
    assert done["status"] == "succeeded", done
    inline = api.call("GET", f"/api/connect/jobs/{job['id']}", params={"output": "base64"}).json()["outputs"]["out"][0]
    assert_color(decode(inline), rgb_of(0xA0B0C0))
    for box in quiet.boxes:
        _, data = download(box.client, job["id"])
        assert data == base64.b64decode(inline), box.name


def test_an_output_link_published_by_one_box_is_served_by_another(quiet: Fleet, api: Client) -> None:
    job = api.start("slow", slow(0xB0C0D0), {"output": "url"})
    assert api.finished(job["id"])["status"] == "succeeded"
    link, data = download(api, job["id"])
    for box in quiet.boxes:
        moved = box.client.url + link.removeprefix(api.url)
        fetched = requests.get(moved, timeout=60)
        assert fetched.status_code == 200 and fetched.content == data, (box.name, fetched.status_code)
