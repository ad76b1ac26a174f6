"""The run operation: one per saved workflow (its exact body schema), and the generic one by name.

Every run is a job (see jobs.py): the run call's parameters and headers for waiting, async answers,
webhooks and idempotency live here beside the operation that takes them.
"""

from __future__ import annotations

from typing import Any

from ... import errors as e
from .io import OUTPUT_PARAMETER, multipart_body, run_success
from .manage import NAME_PARAM, NAMED
from .responses import errors

_RUN_ERRORS = (
    *NAMED,
    e.BadRequest,
    e.LimitExceeded,
    e.TooManyRequests,
    e.Unavailable,
    e.ClusterUnavailable,
    e.InvalidJSON,
    e.InputFileError,
    e.BypassError,
    e.PayloadTooLarge,
    e.NotAcceptable,
    e.RunInterrupted,
    e.PayloadError,
    e.PromptInvalid,
    e.IdempotencyMismatch,
    e.ExecutionFailed,
    e.OutputTooLarge,
    e.RunTimeout,
)


GENERIC_BODY = {
    "type": "object",
    "description": "Input groups of the named workflow: each an object of its inputs, or false to bypass it. "
    "Each saved workflow's own operation has the exact schema.",
    "additionalProperties": {"oneOf": [{"type": "object"}, {"type": "boolean", "const": False}]},
}


def run_operation(
    operation_id: str,
    summary: str,
    body: dict[str, Any],
    example: dict[str, Any] | None,
    outputs: list[str] | None,
    run_timeout: float = 600.0,
    sync_wait: float = 100.0,
) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": body}
    if example is not None:
        media["example"] = example
    timeout = {
        "name": "timeout",
        "in": "query",
        "required": False,
        "description": "Seconds the run may execute (counted from its start, not while it waits in the queue) before it is "
        f"interrupted with 504 `timeout`; default: the workflow's own `timeout`, else {run_timeout:g} (also the most allowed)",
        "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": run_timeout},
    }
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": "Runs the workflow with the saved values, changed by the request body; returns every `#` output "
        "(files in batch order, and values nodes show, such as PreviewAny's text) in the form `?output=` or the Accept header "
        "chooses. An empty body runs it as saved. Files can be sent inline (base64), by URL, or as parts of a "
        "multipart/form-data body.\n\n"
        f"Every run is a job. This call waits for it up to {sync_wait:g} s (`CONNECT_SYNC_WAIT`; less with `Prefer: wait=<s>`), "
        "then answers `202` with the job and its `Location`, and the job goes on. `?async=1` or `Prefer: respond-async` "
        "answers `202` at once. Follow the job at `GET /api/connect/jobs/{id}` or its `/events`.",
        "tags": ["workflows"],
        "parameters": ([] if outputs is not None else [NAME_PARAM]) + [timeout, OUTPUT_PARAMETER, *_RUN_JOB_PARAMETERS],
        "requestBody": {"required": False, "content": {"application/json": media, "multipart/form-data": multipart_body(body)}},
        "responses": {
            "200": _with_headers(run_success(outputs), {**_PROMPT_HEADERS, **_REPLAYED_HEADER}),
            "202": {
                "description": "The run goes on as a job (asked for, or past the wait budget): follow it at `Location`",
                "headers": {**_PROMPT_HEADERS, **_REPLAYED_HEADER, "Location": {"schema": {"type": "string"}, "description": "The job"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}},
            },
            **errors(_RUN_ERRORS),
        },
    }


def _with_headers(response: dict[str, Any], headers: dict[str, Any]) -> dict[str, Any]:
    return {**response, "headers": {**response.get("headers", {}), **headers}}


_PROMPT_HEADERS = {
    "X-Connect-Prompt-Id": {"schema": {"type": "string"}, "description": "ComfyUI's prompt id of this run"},
    "X-Connect-Job-Id": {"schema": {"type": "string"}, "description": "The job of this run"},
    "Server-Timing": {
        "schema": {"type": "string"},
        "description": "milliseconds spent by the plugin itself (connect) and waiting for ComfyUI (comfyui)",
    },
}
_REPLAYED_HEADER = {
    "Idempotent-Replayed": {"schema": {"const": "true"}, "description": "Sent when an Idempotency-Key returned an earlier job"}
}
_RUN_JOB_PARAMETERS = [
    {
        "name": "async",
        "in": "query",
        "required": False,
        "description": "Answer 202 with the job at once instead of waiting (same as `Prefer: respond-async`)",
        "schema": {"type": "boolean"},
    },
    {
        "name": "webhook",
        "in": "query",
        "required": False,
        "description": "A URL the server POSTs the finished job to (with its outputs), signed as Standard Webhooks do "
        "(`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with backoff. Needs CONNECT_WEBHOOK_SECRET on the server; "
        "loopback and private addresses are refused as for URL inputs",
        "schema": {"type": "string", "format": "uri", "pattern": "^https?://[!-~]+$", "maxLength": 1024},
    },
    {
        "name": "cancel_on_disconnect",
        "in": "query",
        "required": False,
        "description": "Whether hanging up before the answer cancels the run (default: CONNECT_CANCEL_ON_DISCONNECT, "
        "but no when an Idempotency-Key is sent)",
        "schema": {"type": "boolean"},
    },
    {
        "name": "Prefer",
        "in": "header",
        "required": False,
        "description": "RFC 7240: `respond-async` answers 202 at once; `wait=<seconds>` shortens the wait before 202",
        "schema": {"type": "string"},
    },
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Retrying with the same key (same workflow and API key) returns the first call's job instead of running "
        "again, while that job is kept; the same key with another body is refused with 422",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
]
