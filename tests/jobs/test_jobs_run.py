"""Runs as jobs on a real ComfyUI: the sync answer, the 202 fallback, async polling, timeouts, idempotency."""

from __future__ import annotations

import base64
import io
import threading
from typing import Any

import pytest
from PIL import Image
from support.client import Client
from support.suites import SYNC_WAIT
from support.workflows import slow_workflow

pytestmark = pytest.mark.e2e


def pixel(encoded: str) -> tuple[int, ...]:
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
        return tuple(image.convert("RGB").getpixel((0, 0)))


def test_a_quick_sync_call_answers_200_with_its_outputs_and_job(idle: Client) -> None:
    response = idle.run("steps", {"canvas": {"color": 0x102030}})
    assert response.status_code == 200, response.text
    assert pixel(response.json()["out"][0]) == (0xEF, 0xDF, 0xCF)
    job = idle.job(response.headers["X-Connect-Job-Id"])
    assert job["status"] == "succeeded" and job["prompt_id"] == response.headers["X-Connect-Prompt-Id"]
    # Delivered once, the run's files are deleted (issue 5: nothing piles up): the job says so.
    assert job["outputs"] is None and job["result_expired"] is True


def test_a_sync_call_with_an_idempotency_key_keeps_its_outputs_for_a_replay(idle: Client) -> None:
    headers = {"Idempotency-Key": "keep-outputs-1"}
    first = idle.run("steps", {"canvas": {"color": 0x102030}}, headers=headers, timeout=60)
    assert first.status_code == 200, first.text
    again = idle.run("steps", {"canvas": {"color": 0x102030}}, headers=headers, timeout=60)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert idle.job(first.headers["X-Connect-Job-Id"])["outputs"] == first.json()  # the same encoding as the run call


def test_a_sync_call_past_the_wait_budget_answers_202_and_the_job_goes_on(idle: Client) -> None:
    seconds = SYNC_WAIT + 2
    response = idle.run("slow", {"slow": {"seconds": seconds}, "canvas": {"color": 0x010203}})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "running" and accepted["outputs"] is None
    assert response.headers["Location"] == f"/api/connect/jobs/{accepted['id']}" == accepted["links"]["self"]
    assert response.headers["X-Connect-Job-Id"] == accepted["id"]
    done = idle.http.get(idle.server.url + response.headers["Location"], timeout=30).json()
    done = done if done["status"] == "succeeded" else idle.finished(accepted["id"])
    assert done["status"] == "succeeded", done
    assert pixel(done["outputs"]["out"][0]) == (1, 2, 3)
    assert done["queued_at"] <= done["started_at"] <= done["finished_at"]


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        pytest.param({"async": "1"}, {}, id="query"),
        pytest.param({}, {"Prefer": "respond-async"}, id="prefer-respond-async"),
    ],
)
def test_async_answers_202_at_once_then_polling_shows_progress_and_the_result(
    idle: Client, params: dict[str, str], headers: dict[str, str]
) -> None:
    color = 0x405060 + len(headers)  # identical prompts would be answered from ComfyUI's cache
    body = {"canvas": {"color": color}, "steps": {"steps": 8, "seconds": 0.25}}
    response = idle.run("steps", body, params=params, headers=headers)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] in ("queued", "running") and job["finished_at"] is None
    if "Prefer" in headers:
        assert response.headers["Preference-Applied"] == "respond-async"
    stepping = idle.until(job["id"], lambda j: (j["progress"] or {}).get("value") is not None, "stepping")
    assert stepping["status"] == "running" and stepping["started_at"] is not None
    assert stepping["progress"]["node"] == "2" and stepping["progress"]["class_type"] == "ConnectTestSteps"
    assert stepping["progress"]["max"] == 8 and 1 <= stepping["progress"]["value"] <= 8
    done = idle.finished(job["id"])
    assert done["status"] == "succeeded" and done["error"] is None and done["progress"] is None
    inverted = (0xFF - 0x40, 0xFF - 0x50, 0xFF - (color & 0xFF))
    assert all(abs(a - b) <= 1 for a, b in zip(pixel(done["outputs"]["out"][0]), inverted, strict=True))  # float rounding


def test_prefer_wait_shortens_the_wait_budget(idle: Client) -> None:
    response = idle.run("slow", {"slow": {"seconds": 1.5}, "canvas": {"color": 14}}, headers={"Prefer": "wait=0"})
    assert response.status_code == 202, response.text
    assert idle.finished(response.json()["id"])["status"] == "succeeded"


def test_a_queued_job_shows_its_position(idle: Client) -> None:
    first = idle.start("slow", {"slow": {"seconds": 2}, "canvas": {"color": 11}})
    idle.running(first["id"])
    second = idle.start("slow", {"slow": {"seconds": 0.1}, "canvas": {"color": 12}})
    third = idle.start("slow", {"slow": {"seconds": 0.1}, "canvas": {"color": 13}})
    assert (idle.job(second["id"])["position"], idle.job(third["id"])["position"]) == (1, 2)
    assert idle.job(second["id"])["status"] == "queued"
    for job in (first, second, third):
        assert idle.finished(job["id"])["status"] == "succeeded"


def test_jobs_are_listed_newest_first_and_filtered(idle: Client) -> None:
    ran = [idle.start("steps", {"canvas": {"color": 20 + i}})["id"] for i in range(3)]
    for job_id in ran:
        idle.finished(job_id)
    listed = idle.http.get(f"{idle.api_url}/jobs", params={"workflow": "steps", "status": "succeeded", "limit": "3"}, timeout=30)
    assert listed.status_code == 200, listed.text
    jobs = listed.json()["jobs"]
    assert [j["id"] for j in jobs] == ran[::-1]
    assert all(j["outputs"] is None and j["workflow"] == "steps" for j in jobs)
    assert idle.http.get(f"{idle.api_url}/jobs", params={"status": "bogus"}, timeout=30).status_code == 400
    missing = idle.http.get(f"{idle.api_url}/jobs/no-such-job", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"


def test_a_run_over_its_requested_timeout_is_interrupted_and_fails(idle: Client) -> None:
    job = idle.start("slow", {"slow": {"seconds": 60}}, {"timeout": "1"})
    done = idle.finished(job["id"])
    assert done["status"] == "failed" and done["timeout"] == 1
    assert done["error"]["type"] == "timeout" and done["error"]["details"] == {"prompt_id": job["prompt_id"], "timeout": 1}
    history = idle.history(job["prompt_id"])
    assert "execution_interrupted" in [event for event, _ in history["status"]["messages"]]


def test_a_workflow_timeout_is_saved_applied_kept_and_counts_only_execution(idle: Client) -> None:
    url = f"{idle.api_url}/workflows/slow-limited"
    saved = idle.http.put(url, json={"prompt": slow_workflow(), "timeout": 2}, timeout=30)
    assert saved.status_code in (200, 201) and saved.json()["timeout"] == 2
    # Saved again from ComfyUI's UI (prompt and workflow only): the timeout stays.
    again = idle.http.put(url, json={"prompt": slow_workflow(), "workflow": {}}, timeout=30)
    assert again.json()["timeout"] == 2 and idle.http.get(url, timeout=30).json()["timeout"] == 2

    response = idle.run("slow-limited", {"slow": {"seconds": 60}})
    assert response.status_code == 504, response.text
    assert response.json()["error"]["type"] == "timeout" and response.json()["error"]["details"]["timeout"] == 2

    # Waiting in the queue does not count: 3 s behind another run, then 0.5 s of work, within 2 s.
    blocker = idle.start("slow", {"slow": {"seconds": 3}, "canvas": {"color": 31}})
    idle.running(blocker["id"])
    queued = idle.start("slow-limited", {"slow": {"seconds": 0.5}, "canvas": {"color": 32}})
    assert idle.finished(queued["id"])["status"] == "succeeded"

    cleared = idle.http.put(url, json={"prompt": slow_workflow(), "timeout": None}, timeout=30)
    assert cleared.json()["timeout"] is None
    bad = idle.http.put(url, json={"prompt": slow_workflow(), "timeout": -1}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["details"] == {"path": "timeout"}


def test_an_idempotency_key_returns_the_same_job_instead_of_running_twice(idle: Client) -> None:
    body = {"canvas": {"color": 0x0A0B0C}, "steps": {"steps": 2, "seconds": 0.5}}
    key = {"Idempotency-Key": "order-4711"}
    first = idle.run("steps", body, params={"async": "1"}, headers=key)
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    retried = idle.run("steps", body, params={"async": "1"}, headers=key)
    assert retried.status_code == 202 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["id"] == first.json()["id"]
    # A synchronous retry waits for that same job and answers with its outputs.
    synced = idle.run("steps", body, headers=key)
    assert synced.status_code == 200 and synced.headers["X-Connect-Job-Id"] == first.json()["id"]
    assert pixel(synced.json()["out"][0]) == (0xF5, 0xF4, 0xF3)
    ran = [
        j
        for j in idle.http.get(f"{idle.api_url}/jobs", params={"workflow": "steps"}, timeout=30).json()["jobs"]
        if j["prompt_id"] == first.json()["prompt_id"]
    ]
    assert len(ran) == 1
    other = idle.run("steps", {"canvas": {"color": 1}}, params={"async": "1"}, headers=key)
    assert other.status_code == 422 and other.json()["error"]["type"] == "idempotency_key_reused"
    assert other.json()["error"]["details"] == {"idempotency_key": "order-4711", "job_id": first.json()["id"]}


def test_concurrent_retries_with_one_idempotency_key_start_one_job(idle: Client) -> None:
    body = {"canvas": {"color": 0x0D0E0F}}
    answers: list[Any] = []

    def call() -> None:
        answers.append(idle.run("steps", body, params={"async": "1"}, headers={"Idempotency-Key": "burst-1"}))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [202] * 6
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
