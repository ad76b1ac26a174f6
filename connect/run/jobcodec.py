"""A job record as JSON and back, for stores that keep it outside the process (jobstore_sqlite.py).

    text = encode(job)          # on the event loop: a snapshot of the record as it is now
    job = decode(text)          # an equal record (ComfyUI's UI outputs come back as JSON: tuples as lists)
    prompt, plan = encode_plan(job.plan)    # once per job: a plan never changes, and it is most of the text
    text = encode(job, plan)    # the same text, the plan not encoded again

Every field is written; a field a newer version adds is read with its default when an older file lacks it.
"""

from __future__ import annotations

import json
from typing import Any

from ..comfy.messages import NodeFailure
from ..comfy.outcome import Outcome
from ..io.delivery import Choice, Mode
from ..io.outputs import FileRef, Item, Value
from .jobs import JobRecord, Plan, WebhookState

_VERSION = 1
_NULL_END = "null}"  # how an encoded record without its plan ends


def encode(job: JobRecord, plan: str | None = None) -> str:
    """`plan`: encode_plan(job.plan)[1], when the caller kept it."""
    data: dict[str, Any] = {
        "v": _VERSION,
        "id": job.id,
        "workflow": job.workflow,
        "prompt_id": job.prompt_id,
        "owner": job.owner,
        "timeout": job.timeout,
        "created_at": job.created_at,
        "status": job.status,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "outputs": None if job.outputs is None else {name: [_item(i) for i in items] for name, items in job.outputs.items()},
        "result": None if job.result is None else _outcome(job.result),
        "output_nodes": job.output_nodes,
        "result_expired": job.result_expired,
        "error": job.error,
        "error_status": job.error_status,
        "cancel_reason": job.cancel_reason,
        "webhook": None if job.webhook is None else vars(job.webhook),
        "idempotency_scope": job.idempotency_scope,
        "fingerprint": job.fingerprint,
        "delivery": {"mode": job.delivery.mode.value, "accept": list(job.delivery.accept), "base": job.delivery.base},
        "deleted": job.deleted,
        "instance": job.instance,
        "attempts": job.attempts,
        "workflow_hash": job.workflow_hash,
        "plan": None if job.plan is None or plan is not None else vars(job.plan),  # last: `plan` is put in its place
    }
    text = _dumps(data)
    return text if job.plan is None or plan is None else f"{text[: -len(_NULL_END)]}{plan}}}"


def encode_plan(plan: Plan) -> tuple[str, str]:
    """The plan's prompt alone and the whole plan, as JSON (the plan is most of an unfinished record's text)."""
    prompt = _dumps(plan.prompt)
    rest = _dumps({"outputs": plan.outputs, "labels": plan.labels, "extra": plan.extra})
    return prompt, f'{{"prompt":{prompt},{rest[1:]}'


def _dumps(data: Any) -> str:
    # default=str: a node's UI value that JSON cannot hold is shown as text, as the API shows it.
    return json.dumps(data, separators=(",", ":"), default=str)


def decode(text: str) -> JobRecord:
    data = json.loads(text)
    plan = data.get("plan")
    outputs = data.get("outputs")
    nodes = data.get("output_nodes")
    delivery = data.get("delivery") or {}
    return JobRecord(
        id=data["id"],
        workflow=data["workflow"],
        prompt_id=data["prompt_id"],
        owner=data.get("owner"),
        timeout=float(data["timeout"]),
        created_at=float(data["created_at"]),
        status=data["status"],
        started_at=data.get("started_at"),
        finished_at=data.get("finished_at"),
        outputs=None if outputs is None else {name: [_unitem(i) for i in items] for name, items in outputs.items()},
        result=None if data.get("result") is None else _unoutcome(data["result"]),
        output_nodes=None if nodes is None else {name: tuple(ids) for name, ids in nodes.items()},
        result_expired=bool(data.get("result_expired")),
        error=data.get("error"),
        error_status=data.get("error_status"),
        cancel_reason=data.get("cancel_reason"),
        webhook=None if data.get("webhook") is None else WebhookState(**data["webhook"]),
        idempotency_scope=data.get("idempotency_scope"),
        fingerprint=data.get("fingerprint"),
        delivery=Choice(Mode(delivery.get("mode", "base64")), tuple(delivery.get("accept") or ("*/*",)), delivery.get("base", "")),
        deleted=bool(data.get("deleted")),
        instance=data.get("instance"),
        attempts=int(data.get("attempts") or 0),
        workflow_hash=data.get("workflow_hash"),
        plan=None if plan is None else _unplan(plan),
    )


def _item(item: Item) -> dict[str, Any]:
    if isinstance(item, FileRef):
        return {"file": [item.filename, item.subfolder, item.kind]}
    return {"value": [item.key, item.value]}


def _unitem(data: dict[str, Any]) -> Item:
    if "file" in data:
        return FileRef(*data["file"])
    return Value(*data["value"])


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {**vars(outcome), "failure": None if outcome.failure is None else vars(outcome.failure)}


def _unoutcome(data: dict[str, Any]) -> Outcome:
    failure = data.get("failure")
    return Outcome(**{**data, "cached": tuple(data.get("cached") or ()), "failure": None if failure is None else NodeFailure(**failure)})


def _unplan(data: dict[str, Any]) -> Plan:
    return Plan(
        prompt=data["prompt"],
        outputs={name: tuple(ids) for name, ids in data["outputs"].items()},
        labels={node_id: (label[0], label[1]) for node_id, label in data["labels"].items()},
        extra=data.get("extra") or {},
    )
