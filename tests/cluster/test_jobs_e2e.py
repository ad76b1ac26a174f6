"""Distributed jobs over HTTP: a real redis-server, an `api` ComfyUI that never executes and a `worker`
ComfyUI that takes the jobs. A run posted to the api box runs on the worker, and its job (record, events,
outputs, cancel, list) is served by either box."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from support.client import Client, wait_until
from support.images import b64, decode, png_b64
from support.redis_server import RedisServer
from support.server import prepare, serve
from support.suites import SETTINGS
from support.workflows import load_invert, slow_workflow

pytestmark = pytest.mark.e2e


@dataclass
class Pair:
    api: Client
    worker: Client


def env(redis: RedisServer, instance: str, role: str) -> dict[str, str]:
    return {
        **SETTINGS,
        "CONNECT_CLUSTER_URL": redis.url,
        "CONNECT_CLUSTER_ROLE": role,
        "CONNECT_INSTANCE_ID": instance,
        "CONNECT_CLUSTER_HEARTBEAT": "0.5",
        "CONNECT_CLUSTER_LEASE": "3",
    }


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("jobs2")
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer(root / "redis"))
        api = stack.enter_context(serve(prepare(root / "api", test_nodes=True), env(redis, "box-api", "api")))
        worker = stack.enter_context(serve(prepare(root / "worker", test_nodes=True), env(redis, "box-worker", "worker")))
        api.saved("slow", slow_workflow())
        api.saved("invert", load_invert())
        wait_until(lambda: worker.describe("invert").status_code == 200, 15, "the workflows synced to the worker")
        yield Pair(api, worker)


def events(client: Client, job_id: str, last: int | None = None) -> list[tuple[int, str]]:
    headers = {"Last-Event-ID": str(last)} if last is not None else None
    response = client.call("GET", f"/api/connect/jobs/{job_id}/events", headers=headers, timeout=60.0)
    assert response.status_code == 200, response.text
    found = []
    for block in response.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            found.append((int(fields["id"]), fields["event"]))
    return found


def test_a_synchronous_run_on_the_api_box_runs_on_the_worker(pair: Pair) -> None:
    response = pair.api.run("slow", {"slow": {"seconds": 0.5}, "canvas": {"color": 0x00FF00}})
    assert response.status_code == 200, response.text
    assert response.headers["X-Connect-Instance"] == "box-worker"
    image = decode(response.json()["out"][0])
    assert image.convert("RGB").getpixel((0, 0)) == (0, 255, 0)
    job = pair.worker.job(response.headers["X-Connect-Job-Id"])  # the record lives in Redis: any box reads it
    assert job["status"] == "succeeded" and job["instance"] == "box-worker" and job["attempts"] == 1
    assert pair.api.queue_depth() == 0


def test_a_slow_job_is_readable_and_cancellable_from_every_box(pair: Pair) -> None:
    job = pair.api.start("slow", {"slow": {"seconds": 60}})
    assert job["instance"] is None and job["status"] == "queued"
    running = pair.api.until(job["id"], lambda j: j["status"] == "running", "running")
    assert running["instance"] == "box-worker" and running["attempts"] == 1
    assert pair.worker.job(job["id"])["status"] == "running"
    for client in (pair.api, pair.worker):
        listed = client.call("GET", "/api/connect/jobs").json()["jobs"]
        assert job["id"] in [j["id"] for j in listed]
    members = pair.api.call("GET", "/api/connect/cluster").json()["instances"]
    wait_until(
        lambda: any((m.get("job") or {}).get("id") == job["id"] for m in pair.api.call("GET", "/api/connect/cluster").json()["instances"]),
        10,
        "the worker's heartbeat names its job",
    )
    assert {m["id"] for m in members} == {"box-api", "box-worker"}
    cancelled = pair.api.call("DELETE", f"/api/connect/jobs/{job['id']}", timeout=60)
    assert cancelled.status_code in (200, 202), cancelled.text
    wait_until(lambda: pair.worker.queue_depth() == 0, 30, "the worker's ComfyUI stopped the prompt")
    seen = events(pair.worker, job["id"]) if pair.worker.call("GET", f"/api/connect/jobs/{job['id']}").status_code == 200 else []
    if seen:  # still kept (DELETE forgets a job once it has ended): its stream ends with the cancel
        assert seen[-1][1] == "cancelled" and seen[0][1] == "queued"


def test_events_replay_from_either_box_with_last_event_id(pair: Pair) -> None:
    job = pair.api.start("slow", {"slow": {"seconds": 1}})
    done = pair.worker.finished(job["id"])
    assert done["status"] == "succeeded" and done["instance"] == "box-worker"
    seen = events(pair.api, job["id"])
    names = [name for _, name in seen]
    assert names[0] == "queued" and "started" in names and names[-1] == "succeeded"
    assert [name for _, name in events(pair.worker, job["id"], seen[-2][0])] == ["succeeded"]
    outputs = pair.api.job(job["id"])["outputs"]["out"]
    assert decode(outputs[0]).size == (8, 8)
    linked = pair.api.call("GET", f"/api/connect/jobs/{job['id']}", params={"output": "url"}).json()["outputs"]["out"][0]
    fetched = pair.api.http.get(linked if linked.startswith("http") else pair.api.server.url + linked, timeout=30)
    assert fetched.status_code == 200 and fetched.content[:4] == b"\x89PNG"


def test_an_input_file_sent_to_the_api_box_reaches_the_worker(pair: Pair) -> None:
    payload = {"load": {"image": {"type": "file", "content": png_b64((10, 20, 30)), "name": "in.png"}}}
    response = pair.api.run("invert", payload)
    assert response.status_code == 200, response.text
    assert response.headers["X-Connect-Instance"] == "box-worker"
    assert decode(response.json()["out"][0]).convert("RGB").getpixel((0, 0)) == (245, 235, 225)


def test_a_download_link_made_by_one_box_downloads_from_the_other(pair: Pair) -> None:
    response = pair.api.run("slow", {"slow": {"seconds": 0.2}, "canvas": {"color": 0x3366CC}}, output="url")
    assert response.status_code == 200, response.text
    url = response.json()["out"][0]
    path = url[url.index("/api/connect/files/") :]
    assert url.startswith(pair.api.url)  # made by the api box, as a load balancer would not know
    # the worker box (from Redis), the worker box again (its copy), and the box that made the link
    answers = [box.http.get(box.url + path, timeout=30) for box in (pair.worker, pair.worker, pair.api)]
    for answer in answers:
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    assert answers[0].content == answers[1].content == answers[2].content  # the same bytes on either box
    assert decode(b64(answers[0].content)).convert("RGB").getpixel((0, 0)) == (0x33, 0x66, 0xCC)
    token = path.split("/")[4]
    for box in (pair.api, pair.worker):
        unknown = box.http.get(box.url + path.replace(token, "x" * len(token)), timeout=30)
        assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found"
        wrong_name = box.http.get(box.url + path.rsplit("/", 1)[0] + "/other.png", timeout=30)
        assert wrong_name.status_code == 404
