"""The job operations: list, get, cancel, follow as Server-Sent Events; and the Job schema."""

from __future__ import annotations

from typing import Any

from ... import errors as e
from .io import JOB_OUTPUT_ITEM, JOB_OUTPUT_PARAMETER
from .responses import PREFIX, STR, STR_OR_NULL, errors, json_response, obj

_JOB_ERRORS = (e.NotFound,)
# One Server-Sent Event as a reader parses it: `data` is JSON text (see connect/run/events.py for each event's data).
_SSE_EVENT = obj(
    {
        "event": {"enum": ["queued", "position", "started", "cached", "node", "progress", "output", "succeeded", "failed", "cancelled"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
    },
    ["event", "data", "id"],
)
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The job's id"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
JOB_SCHEMAS = {
    "Job": {
        "type": "object",
        "description": "One run of a workflow. `status`: queued -> running -> succeeded, failed or cancelled",
        "properties": {
            "id": STR,
            "workflow": STR,
            "status": {"enum": ["queued", "running", "succeeded", "failed", "cancelled"]},
            "prompt_id": {**STR, "description": "ComfyUI's prompt id"},
            "position": {"type": ["integer", "null"], "minimum": 1, "description": "While queued: 1 runs next"},
            "progress": {
                "description": "While running: the node executing and its steps (e.g. sampler steps)",
                "anyOf": [
                    obj(
                        {
                            "node": STR,
                            "title": STR_OR_NULL,
                            "class_type": STR,
                            "value": {"type": ["number", "null"]},
                            "max": {"type": ["number", "null"]},
                            "nodes_executed": {"type": "integer"},
                        },
                        ["node", "value", "max", "nodes_executed"],
                    ),
                    {"type": "null"},
                ],
            },
            "queued_at": {"type": "string", "format": "date-time"},
            "started_at": _TIME_OR_NULL,
            "finished_at": _TIME_OR_NULL,
            "timeout": {"type": "number", "description": "Seconds it may execute"},
            "cancel_requested": {"type": "boolean", "description": "A stop was asked for and ComfyUI has not confirmed it yet"},
            "error": {
                "description": "When failed or cancelled: the error a synchronous call answers with (the one error shape's inner object)",
                "anyOf": [obj({"type": STR, "message": STR, "details": {}}, ["type", "message", "details"]), {"type": "null"}],
            },
            "outputs": {
                "description": "When succeeded (GET of one job, and its webhook): every `#` output, as the run call "
                "returns them (base64, url links or detailed objects; a raw run's as url links), or as GET's `?output=` asks",
                "type": ["object", "null"],
                "additionalProperties": {"type": "array", "items": JOB_OUTPUT_ITEM},
            },
            "result_expired": {"type": "boolean", "description": "The outputs are no longer kept (CONNECT_JOB_RESULTS_TTL)"},
            "webhook": {
                "anyOf": [
                    obj(
                        {
                            "url": STR,
                            "state": {"enum": ["pending", "delivered", "failed"]},
                            "attempts": {"type": "integer"},
                            "last_status": {"type": ["integer", "null"]},
                            "last_error": STR_OR_NULL,
                        },
                        ["url", "state", "attempts"],
                    ),
                    {"type": "null"},
                ]
            },
            "links": obj({"self": STR, "events": STR}, ["self", "events"]),
            "instance": {
                "type": ["string", "null"],
                "description": "In a cluster: the instance running the job or that ran it (null while queued)",
            },
            "attempts": {"type": "integer", "description": "In a cluster: how many times a worker took the job (1 on the first)"},
        },
        "required": [
            "id",
            "workflow",
            "status",
            "prompt_id",
            "position",
            "progress",
            "queued_at",
            "started_at",
            "finished_at",
            "timeout",
            "cancel_requested",
            "error",
            "outputs",
            "result_expired",
            "webhook",
            "links",
        ],
    },
    "JobList": obj({"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}}, ["jobs"]),
}


def job_paths() -> dict[str, Any]:
    job = json_response("The job", "Job")
    events = {
        "description": "`text/event-stream`: `queued`, `position`, `started`, `cached`, `node`, `progress`, `output`, then one of "
        "`succeeded`, `failed`, `cancelled` (the job, without outputs) and the stream ends. Each event has an `id`; "
        "reconnecting with `Last-Event-ID` resumes after it",
        "content": {"text/event-stream": {"schema": _SSE_EVENT}},
    }

    def op(operation_id: str, summary: str, responses: dict[str, Any], parameters: list[Any]) -> dict[str, Any]:
        return {"operationId": operation_id, "summary": summary, "tags": ["jobs"], "parameters": parameters, "responses": responses}

    listing = [
        {"name": "workflow", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "status", "in": "query", "required": False, "schema": {"enum": ["queued", "running", "succeeded", "failed", "cancelled"]}},
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    ]
    resume = [
        {
            "name": "Last-Event-ID",
            "in": "header",
            "required": False,
            "schema": {"type": "integer", "minimum": 0},
            "description": "Resume after this event",
        },
        {"name": "after", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}, "description": "Same"},
    ]
    return {
        f"{PREFIX}/jobs": {
            "get": op(
                "list_jobs",
                "Recent jobs, newest first, without outputs (a key other than admin sees its own)",
                {"200": json_response("Jobs", "JobList"), **errors((e.BadRequest,))},
                listing,
            )
        },
        f"{PREFIX}/jobs/{{job_id}}": {
            "get": op(
                "get_job",
                "A job: status, position or progress, timings, outputs or error",
                {"200": job, **errors((e.BadRequest, *_JOB_ERRORS))},
                [_JOB_ID, JOB_OUTPUT_PARAMETER],
            ),
            "delete": op(
                "cancel_job",
                "Cancel a job: a queued one is taken off the queue, a running one interrupted (no other run is touched)",
                {
                    "200": json_response("Ended (or had ended)", "Job"),
                    "202": json_response("ComfyUI has not confirmed the stop yet", "Job"),
                    **errors(_JOB_ERRORS),
                },
                [_JOB_ID],
            ),
        },
        f"{PREFIX}/jobs/{{job_id}}/events": {
            "get": op(
                "job_events",
                "A job's progress as Server-Sent Events",
                {"200": events, **errors((e.BadRequest, *_JOB_ERRORS))},
                [_JOB_ID, *resume],
            )
        },
    }
