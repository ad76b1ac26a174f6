"""Stopping jobs on a real ComfyUI: DELETE, a caller hanging up, ComfyUI's own interrupt; never another run."""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any

import pytest
from support.client import Client
from support.workflows import slow_workflow

pytestmark = pytest.mark.e2e


def events_of(jobs: Client, prompt_id: str) -> list[str]:
    return [event for event, _ in jobs.history(prompt_id)["status"]["messages"]]


def test_cancel_a_queued_job_takes_it_off_the_queue_and_leaves_the_running_one(idle: Client) -> None:
    running = idle.start("slow", {"slow": {"seconds": 2}, "canvas": {"color": 51}})
    idle.running(running["id"])
    queued = idle.start("slow", {"slow": {"seconds": 60}, "canvas": {"color": 52}})
    assert idle.job(queued["id"])["status"] == "queued"

    response = idle.http.delete(f"{idle.api_url}/jobs/{queued['id']}", timeout=30)
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["started_at"] is None
    assert cancelled["error"]["type"] == "interrupted" and cancelled["error"]["details"]["reason"] == "cancelled"
    assert queued["prompt_id"] not in [item[1] for item in idle.queue()["queue_pending"]]

    done = idle.finished(running["id"])
    assert done["status"] == "succeeded"
    assert "execution_interrupted" not in events_of(idle, running["prompt_id"])


def test_cancel_the_running_job_interrupts_it_and_the_next_one_runs(idle: Client) -> None:
    running = idle.start("slow", {"slow": {"seconds": 60}, "canvas": {"color": 53}})
    idle.running(running["id"])
    waiting = idle.start("steps", {"canvas": {"color": 54}, "steps": {"steps": 3, "seconds": 0.2}})

    response = idle.http.delete(f"{idle.api_url}/jobs/{running['id']}", timeout=30)
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    assert cancelled["error"]["details"]["reason"] == "cancelled" and cancelled["error"]["details"]["node_id"] == "2"
    assert "execution_interrupted" in events_of(idle, running["prompt_id"])

    after = idle.finished(waiting["id"])
    assert after["status"] == "succeeded", after
    assert "execution_interrupted" not in events_of(idle, waiting["prompt_id"])
    # A deleted job is forgotten.
    for method in ("GET", "DELETE"):
        assert idle.http.request(method, f"{idle.api_url}/jobs/{running['id']}", timeout=30).status_code == 404


def _hang_up_during(jobs: Client, query: str, seconds: float) -> dict[str, Any]:
    """A synchronous call whose client closes the connection once its job runs; returns that job."""
    color = uuid.uuid4().int % 0xFFFFFF
    body = json.dumps({"slow": {"seconds": seconds}, "canvas": {"color": color}}).encode()
    head = (
        f"POST /api/connect/workflows/slow{query} HTTP/1.1\r\nHost: 127.0.0.1:{jobs.server.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", jobs.server.port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        found = jobs.until_listed("slow", "running")
    return found


def test_a_sync_caller_that_hangs_up_cancels_its_job(idle: Client) -> None:
    job = _hang_up_during(idle, "", 60)
    done = idle.finished(job["id"])
    assert done["status"] == "cancelled" and done["error"]["details"]["reason"] == "client_disconnected"
    assert "execution_interrupted" in events_of(idle, job["prompt_id"])


def test_a_sync_caller_may_ask_its_job_to_go_on_after_it_hangs_up(idle: Client) -> None:
    job = _hang_up_during(idle, "?cancel_on_disconnect=0", 1.5)
    assert idle.finished(job["id"])["status"] == "succeeded"


def test_an_interrupt_from_comfyui_ends_the_api_job_as_cancelled(idle: Client) -> None:
    job = idle.start("slow", {"slow": {"seconds": 60}, "canvas": {"color": 55}})
    idle.running(job["id"])
    assert idle.http.post(idle.server.url + "/interrupt", json={}, timeout=30).status_code == 200  # the UI's Cancel button
    done = idle.finished(job["id"])
    assert done["status"] == "cancelled"
    assert done["error"]["type"] == "interrupted" and done["error"]["details"]["reason"] == "interrupted"
    assert "ComfyUI" in done["error"]["message"]


def test_prompts_from_comfyui_itself_are_not_jobs_and_not_touched_by_a_cancel(idle: Client) -> None:
    prompt = slow_workflow()
    prompt["2"]["inputs"]["seconds"] = 2.0
    queued = idle.http.post(idle.server.url + "/prompt", json={"prompt": prompt, "client_id": "the-ui"}, timeout=30)
    assert queued.status_code == 200, queued.text
    ui_prompt = queued.json()["prompt_id"]
    job = idle.start("slow", {"slow": {"seconds": 60}, "canvas": {"color": 56}})
    assert idle.job(job["id"])["status"] == "queued"
    assert idle.http.delete(f"{idle.api_url}/jobs/{job['id']}", timeout=30).json()["status"] == "cancelled"
    history = idle.history(ui_prompt)
    assert history["status"]["status_str"] == "success"
    assert "execution_interrupted" not in [event for event, _ in history["status"]["messages"]]
    listed = idle.http.get(f"{idle.api_url}/jobs", timeout=30).json()["jobs"]
    assert ui_prompt not in [j["prompt_id"] for j in listed]
