"""Webhooks from a real ComfyUI to a local receiver: signed (checked with the standardwebhooks package), retried."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook
from support.client import Client
from support.filehost import FileHost
from support.suites import WEBHOOK_SECRET

pytestmark = pytest.mark.e2e


def test_a_finished_job_is_posted_to_its_webhook_signed(idle: Client, receiver: FileHost) -> None:
    job = idle.start("steps", {"canvas": {"color": 0x102030}}, {"webhook": receiver.hook})
    assert job["webhook"] == {"url": receiver.hook, "state": "pending", "attempts": 0, "last_status": None, "last_error": None}
    (delivery,) = receiver.wait_for(1)
    payload = Webhook(WEBHOOK_SECRET).verify(delivery.body, delivery.headers)  # raises unless the signature is right
    assert delivery.headers["webhook-id"] == f"msg_{job['id']}"
    assert payload["type"] == "job.succeeded"
    assert payload["data"]["id"] == job["id"] and payload["data"]["status"] == "succeeded"
    assert payload["data"]["outputs"]["out"] == idle.job(job["id"])["outputs"]["out"]
    state = idle.until(job["id"], lambda j: j["webhook"]["state"] == "delivered", "delivered")["webhook"]
    assert state["attempts"] == 1 and state["last_status"] == 204


def test_a_failed_job_is_posted_too(idle: Client, receiver: FileHost) -> None:
    job = idle.start("slow", {"slow": {"seconds": 60}}, {"webhook": receiver.hook, "timeout": "0.5"})
    (delivery,) = receiver.wait_for(1)
    payload = Webhook(WEBHOOK_SECRET).verify(delivery.body, delivery.headers)
    assert payload["type"] == "job.failed" and payload["data"]["id"] == job["id"]
    assert payload["data"]["error"]["type"] == "timeout" and payload["data"]["outputs"] is None


def test_a_webhook_is_retried_after_the_receiver_fails_once(idle: Client, receiver: FileHost) -> None:
    receiver.script = [500]
    job = idle.start("steps", {"canvas": {"color": 0x102031}}, {"webhook": receiver.hook})
    first, second = receiver.wait_for(2)
    assert (first.answered, second.answered) == (500, 204)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{job['id']}"
    assert first.body == second.body
    for delivery in (first, second):
        Webhook(WEBHOOK_SECRET).verify(delivery.body, delivery.headers)
    state = idle.until(job["id"], lambda j: j["webhook"]["state"] == "delivered", "delivered")["webhook"]
    assert state["attempts"] == 2 and state["last_status"] == 204


def test_attempts_are_bounded(idle: Client, receiver: FileHost) -> None:
    receiver.script = [503, 503, 503, 503]
    job = idle.start("steps", {"canvas": {"color": 0x102032}}, {"webhook": receiver.hook})
    state = idle.until(job["id"], lambda j: j["webhook"]["state"] == "failed", "failed")["webhook"]
    assert state["attempts"] == 3 and state["last_status"] == 503  # CONNECT_WEBHOOK_ATTEMPTS=3
    assert len(receiver.deliveries) == 3


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://10.1.2.3/hook", id="private-address"),
        pytest.param("http://169.254.169.254/latest", id="link-local"),
        pytest.param("http://127.0.0.2/hook", id="loopback-outside-the-allowed-network"),
        pytest.param("http://0177.0.0.2/hook", id="non-canonical-loopback"),
        pytest.param("ftp://example.com/hook", id="not-http"),
        pytest.param("/relative", id="relative"),
    ],
)
def test_webhook_urls_follow_the_rules_of_url_inputs(jobs: Client, url: str) -> None:
    response = jobs.run("steps", {}, params={"webhook": url, "async": "1"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "bad_request" and response.json()["error"]["details"] == {"path": "webhook"}
