"""Webhooks from a real ComfyUI to a local receiver: signed (checked with the standardwebhooks package), retried."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image
from standardwebhooks import Webhook
from support.client import Client
from support.filehost import FileHost
from support.suites import WEBHOOK_SECRET
from support.workflows import node

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


def test_a_webhook_carries_nothing_of_other_endpoints_nor_of_the_plugin(idle: Client, receiver: FileHost) -> None:
    """Another endpoint's `!cache` node is in every queued prompt; the webhook's files embed only their own."""
    private = {"1": node("EmptyImage", "Secret canvas [!cache]", width=8, height=8, batch_size=1, color=0x5EC12E)}
    private["2"] = node("SaveImage", "#out", images=["1", 0], filename_prefix="private")
    public = {"1": node("EmptyImage", "$canvas(color)", width=8, height=8, batch_size=1, color=0)}
    public["2"] = node("SaveImage", "#out", images=["1", 0], filename_prefix="public")
    for name, prompt, extra in (("leak/private", private, {}), ("leak/public", public, {"metadata": "full"})):
        response = idle.call("PUT", f"/api/connect/workflows/{name}", json_body={"prompt": prompt, **extra})
        assert response.status_code in (200, 201), response.text
    try:
        job = idle.start("leak/public", {"canvas": {"color": 0x102033}}, {"webhook": receiver.hook})
        (delivery,) = receiver.wait_for(1)
        queued = idle.history(job["prompt_id"])["prompt"][2]
        assert any(node_id.startswith("connect-cache-") for node_id in queued)  # the setting the leak came from
        payload = Webhook(WEBHOOK_SECRET).verify(delivery.body, delivery.headers)
        (image,) = payload["data"]["outputs"]["out"]
        with Image.open(io.BytesIO(base64.b64decode(image))) as png:
            embedded = json.loads(png.info["prompt"])
        assert embedded == {**public, "1": {**public["1"], "inputs": {**public["1"]["inputs"], "color": 0x102033}}}
        for leak in ("connect-cache", "connect_run", "Secret canvas", str(0x5EC12E)):
            assert leak not in delivery.body.decode() and leak not in json.dumps(embedded)
    finally:
        for name in ("leak/private", "leak/public"):
            idle.delete(name)
