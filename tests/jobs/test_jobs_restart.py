"""Jobs across a real crash (kill -9 of ComfyUI) and a plain restart (SIGTERM), on a server of their own.

One slow job running (ConnectTestSlow), two queued behind it (one with a sent file), each with a
webhook; ComfyUI dies; a new ComfyUI on the same base directory: every id answers, the queued ones
run and succeed, the running one fails as `server_restarted`, each webhook arrives exactly once.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from launcher import ComfyServer
from support.client import Client
from support.filehost import FileHost
from support.images import png_b64
from support.server import prepare
from support.suites import JOBS_ENV
from support.workflows import file_input, load_invert, slow_workflow

pytestmark = pytest.mark.e2e
WORKFLOWS = {"slow": slow_workflow(), "invert": load_invert()}


@dataclass
class Life:
    base: Path
    server: ComfyServer

    @property
    def client(self) -> Client:
        return Client(self.server)

    def restart(self) -> None:
        self.server = ComfyServer(self.base, env=JOBS_ENV)
        self.server.start()


@pytest.fixture
def life(tmp_path: Path) -> Iterator[Life]:
    base = prepare(tmp_path / "base", test_nodes=True, inputs={})
    state = Life(base, ComfyServer(base, env=JOBS_ENV))
    try:
        state.server.start()
        for name, prompt in WORKFLOWS.items():
            state.client.saved(name, prompt)
        yield state
    except BaseException:
        print(state.server.log_tail(150))
        raise
    finally:
        state.server.stop()


@pytest.fixture
def receiver() -> Iterator[FileHost]:
    hook = FileHost()
    yield hook
    hook.close()


def start_three(client: Client, hook: str) -> list[dict[str, Any]]:
    """A slow job, running once this returns; a canvas and a sent-file job queued behind it."""
    params = {"webhook": hook}
    slow = client.start("slow", {"slow": {"seconds": 300}}, params, headers={"Idempotency-Key": "slow-1"})
    client.running(slow["id"])
    canvas = client.start("slow", {"canvas": {"color": 0x102030}}, params, headers={"Idempotency-Key": "canvas-1"})
    sent = client.start("invert", {"load": {"image": file_input(png_b64((10, 20, 30)))}}, params)
    for job in (canvas, sent):
        assert client.job(job["id"])["status"] == "queued"
    return [slow, canvas, sent]


def counted(host: FileHost) -> dict[str, int]:
    seen: dict[str, int] = {}
    for delivery in host.deliveries:
        job_id = delivery.json()["data"]["id"]
        seen[job_id] = seen.get(job_id, 0) + 1
    return seen


def check_recovered(life: Life, host: FileHost, started: list[dict[str, Any]]) -> None:
    client = life.client
    slow, canvas, sent = (client.finished(job["id"], timeout=120) for job in started)
    assert slow["status"] == "failed", slow
    assert slow["error"]["type"] == "server_restarted" and "restart" in slow["error"]["message"]
    assert slow["error"]["details"]["reason"] == "server_restarted"
    for job in (canvas, sent):
        assert job["status"] == "succeeded", job
        assert job["outputs"] and job["outputs"]["out"], job
    assert canvas["started_at"] <= sent["started_at"]  # in their order
    listed = {job["id"] for job in client.call("GET", "/api/connect/jobs").json()["jobs"]}
    assert {job["id"] for job in started} <= listed
    # The Idempotency-Key survived: the retry gets the first job back.
    replay = client.run(
        "slow", {"canvas": {"color": 0x102030}}, params={"async": "1", "webhook": host.hook}, headers={"Idempotency-Key": "canvas-1"}
    )
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["id"] == canvas["id"]
    host.wait_for(3, timeout=60)
    kinds = {d.json()["data"]["id"]: d.json()["type"] for d in host.deliveries}
    assert kinds == {slow["id"]: "job.failed", canvas["id"]: "job.succeeded", sent["id"]: "job.succeeded"}
    # Settled: each job's webhook says delivered, and no second delivery came meanwhile.
    for job_id in kinds:
        client.until(job_id, lambda j: j["webhook"]["state"] == "delivered", "delivered")
    assert counted(host) == {job["id"]: 1 for job in started}


def test_kill_9_mid_run_then_restart(life: Life, receiver: FileHost) -> None:
    started = start_three(life.client, receiver.hook)
    life.server.kill()  # SIGKILL to ComfyUI's process group: nothing is flushed or closed
    assert receiver.deliveries == []
    life.restart()
    check_recovered(life, receiver, started)


def test_plain_restart_sigterm(life: Life, receiver: FileHost) -> None:
    started = start_three(life.client, receiver.hook)
    process = life.server.process
    assert process is not None
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)
    life.restart()
    check_recovered(life, receiver, started)


def test_a_webhook_in_flight_at_the_kill_is_sent_again_after_the_restart(life: Life, receiver: FileHost) -> None:
    receiver.hold_posts = True  # the receiver gets the POST and has not answered when ComfyUI dies
    job = life.client.start("slow", {"slow": {"seconds": 0}}, {"webhook": receiver.hook})
    assert receiver.held.wait(60), "no webhook was sent"
    life.server.kill()
    receiver.hold_posts = False
    receiver.release()
    life.restart()
    done = life.client.until(job["id"], lambda j: j["webhook"]["state"] == "delivered", "delivered")
    assert done["status"] == "succeeded"
    # At least once: the delivery cut off by the kill is sent again, with the same webhook-id to drop it by.
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{job['id']}"
    assert first.json()["data"]["status"] == second.json()["data"]["status"] == "succeeded"
    assert len(receiver.deliveries) == 2


def test_an_unreadable_job_store_is_moved_aside_and_comfyui_starts(life: Life) -> None:
    job = life.client.start("slow", {"slow": {"seconds": 0}})
    life.client.finished(job["id"])
    life.server.stop()
    store = life.base / "user" / "connect" / "jobs.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    store.write_bytes(b"garbage, not a database" * 1000)
    life.restart()
    assert life.client.call("GET", "/api/connect/jobs").json()["jobs"] == []
    assert [p.name for p in store.parent.iterdir() if ".unreadable-" in p.name]
    assert "job store" in life.server.log_tail(400) and "unreadable" in life.server.log_tail(400)
    again = life.client.start("slow", {"slow": {"seconds": 0}})
    assert life.client.finished(again["id"])["status"] == "succeeded"
