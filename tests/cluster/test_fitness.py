"""Which workers can run an endpoint (connect/cluster/fitness.py): pure verdicts on heartbeat reports."""

from __future__ import annotations

from typing import Any

from support.workflows import link, node

from connect.cluster.fitness import HASH_CHARS, lacks, refusal, runnable, still_missing
from connect.errors import EndpointNotReady

VERSION = "ab" * 32
MODEL = {"kind": "model_file", "node_id": "1", "class_type": "UpscaleModelLoader", "title": "Up", "input": "model_name", "value": "x4.pth"}
CLASS = {"kind": "node_class", "node_id": "2", "class_type": "FancyNode", "title": "", "input": None, "value": None}
PROMPT = {
    "1": node("UpscaleModelLoader", "Up", model_name="x4.pth"),
    "2": node("FancyNode", "", model=link("1")),
}


def report(*missing: dict[str, Any], version: str = VERSION, more: int = 0) -> dict[str, Any]:
    return {"hash": version[:HASH_CHARS], "missing": list(missing), "more": more}


def worker(name: str, role: str = "worker", **unready: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "role": role, "unready": unready}


def test_no_live_worker_accepts_the_run_it_waits() -> None:
    assert refusal("up", VERSION, PROMPT, []) is None
    assert refusal("up", VERSION, PROMPT, [{"id": "front", "role": "api"}]) is None  # an api box runs nothing


def test_one_ready_worker_is_enough() -> None:
    members = [worker("a", up=report(MODEL)), worker("b", role="both")]
    assert refusal("up", VERSION, PROMPT, members) is None


def test_refused_when_every_live_worker_lacks_it_naming_what() -> None:
    members = [worker("a", up=report(MODEL)), worker("b", up=report(MODEL, CLASS)), {"id": "front", "role": "api"}]
    refused = refusal("up", VERSION, PROMPT, members)
    assert isinstance(refused, EndpointNotReady) and refused.status == 409
    body = refused.body()["error"]
    assert body["type"] == "endpoint_not_ready"
    assert body["details"] == {"name": "up", "missing": [MODEL, CLASS], "workers": ["a", "b"]}
    assert "'x4.pth'" in body["message"] and "(and 1 more)" in body["message"]


def test_a_report_of_another_version_does_not_refuse() -> None:
    # The worker judged another version of the file (a save still syncing): its own check decides.
    assert refusal("up", VERSION, PROMPT, [worker("a", up=report(MODEL, version="cd" * 32))]) is None
    assert refusal("up", None, PROMPT, [worker("a", up=report(MODEL))]) is None


def test_a_callers_value_or_bypass_stands_in_for_what_is_missing() -> None:
    other = {**PROMPT, "1": node("UpscaleModelLoader", "Up", model_name="x2.pth")}
    assert not still_missing(MODEL, other) and still_missing(MODEL, PROMPT)
    assert refusal("up", VERSION, other, [worker("a", up=report(MODEL))]) is None
    bypassed = {"1": PROMPT["1"]}
    assert not still_missing(CLASS, bypassed)
    assert lacks(report(CLASS), VERSION, bypassed) == []


def test_a_truncated_report_refuses_only_when_every_listed_item_still_applies() -> None:
    other = {**PROMPT, "1": node("UpscaleModelLoader", "Up", model_name="x2.pth")}
    assert lacks(report(MODEL, CLASS, more=3), VERSION, other) == []  # the rest is the worker's own check
    assert lacks(report(MODEL, CLASS, more=3), VERSION, PROMPT) == [MODEL, CLASS]
    assert lacks(report(MODEL, CLASS), VERSION, other) == [CLASS]


def test_the_accepting_boxs_keepalive_nodes_are_not_the_jobs() -> None:
    planned = {**PROMPT, "connect-cache-0-1": node("CheckpointLoaderSimple", "", ckpt_name="big.safetensors")}
    assert runnable(planned) == PROMPT
