"""A job record survives the trip to JSON and back, every field."""

from __future__ import annotations

import json

from connect.comfy.messages import NodeFailure
from connect.comfy.outcome import Outcome
from connect.io.delivery import Choice, Mode
from connect.io.outputs import FileRef, Value
from connect.run.jobcodec import decode, encode
from connect.run.jobs import FAILED, SUCCEEDED, JobRecord, Plan, WebhookState


def test_a_finished_job_with_outputs_comes_back_equal() -> None:
    job = JobRecord(id="j", workflow="w", prompt_id="p", owner="key1", timeout=60.0, created_at=1.5, status=SUCCEEDED)
    job.started_at, job.finished_at = 2.0, 3.0
    job.outputs = {"out": [FileRef("a.png", "sub", "output"), Value("text", ["hi"])]}
    job.result = Outcome("p", {"9": {"images": [{"filename": "a.png", "subfolder": "sub", "type": "output"}]}}, started=2.0, cached=("1",))
    job.output_nodes = {"out": ("9",)}
    job.webhook = WebhookState("http://hook", "delivered", 1, 204, None)
    job.idempotency_scope, job.fingerprint = '[null, "w", "k"]', "abc"
    job.delivery = Choice(Mode.URL, ("image/png",), "http://host")
    assert decode(encode(job)) == job


def test_a_queued_job_keeps_its_plan_and_a_failed_one_its_error() -> None:
    job = JobRecord(id="j", workflow="w", prompt_id="p", owner=None, timeout=60.0)
    job.plan = Plan({"1": {"class_type": "X", "inputs": {"a": 1}}}, {"out": ("1",)}, {"1": ("Title", "X")}, {"extra": True})
    assert decode(encode(job)) == job
    job.status, job.plan, job.error, job.error_status = FAILED, None, {"type": "t", "message": "m", "details": {"n": 1}}, 500
    job.result = Outcome("p", {}, "error", failure=NodeFailure("3", "KSampler", "RuntimeError", "boom"))
    assert decode(encode(job)) == job


def test_a_field_an_older_file_lacks_takes_its_default() -> None:
    text = json.dumps({"id": "j", "workflow": "w", "prompt_id": "p", "timeout": 5, "created_at": 1, "status": "queued"})
    job = decode(text)
    assert job.delivery == Choice(Mode.BASE64) and job.plan is None and job.webhook is None
