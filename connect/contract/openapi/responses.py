"""The pieces every operation shares: the path prefix, small schema builders, and the errors.

Every error the plugin sends is documented here once: its status and `type` come from its class
(connect/errors.py), its `details` shape from ``_DETAILS``. ``errors(...)`` turns a handler's error
classes into its responses, grouped by status; ``error_schemas()`` gives the component of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ... import errors as e

PREFIX = "/api/connect"
_OBJ = "object"
_NULLABLE_OBJECT = ["object", "null"]


def obj(properties: Mapping[str, Any], required: Iterable[str] = (), nullable: bool = False) -> dict[str, Any]:
    schema = {"type": _NULLABLE_OBJECT if nullable else _OBJ, "properties": dict(properties)}
    return {**schema, "required": list(required)} if required else schema


STR = {"type": "string"}
STR_OR_NULL = {"type": ["string", "null"]}

# The items of PayloadError's and PromptInvalid's `problems`, and of EndpointNotReady's `missing`.
PROBLEM_SCHEMAS = {
    "MissingItem": {
        "type": "object",
        "description": "What a workflow names that this ComfyUI lacks, judged by ComfyUI's own node definitions",
        "properties": {
            "kind": {
                "enum": ["node_class", "model_file", "input_file", "choice"],
                "description": "node_class: not installed; model_file / input_file: not in ComfyUI's folders (the combo lists "
                "ComfyUI offers now); choice: another option its list does not offer",
            },
            "node_id": STR,
            "class_type": STR,
            "title": STR,
            "input": {**STR_OR_NULL, "description": "The input that names it (null for a node class)"},
            "value": {"description": "The file or option named (null for a node class)"},
        },
        "required": ["kind", "node_id", "class_type", "title", "input", "value"],
        "additionalProperties": False,
    },
    "PayloadProblem": {
        "type": "object",
        "description": "One way the request body breaks the workflow's contract",
        "properties": {
            "path": {"type": "string", "description": "Where, in your names: `sampler.steps`, `load.image.content`; empty for the body"},
            "rule": {
                "type": "string",
                "description": "The JSON Schema keyword broken: type, minimum, maximum, multipleOf, enum, const, ...",
            },
            "expected": {"description": "That keyword's value (the limit, the type, the allowed values if at most 20)"},
            "message": {"type": "string"},
            "value": {"description": "The value given (long strings cut, file content omitted)"},
        },
        "required": ["path", "rule", "message", "value"],
        "additionalProperties": False,
    },
    "ComfyProblem": {
        "type": "object",
        "description": "One error of ComfyUI's own prompt validation, with the input named as you call it",
        "properties": {
            "path": STR,
            "node_id": STR,
            "class_type": STR_OR_NULL,
            "type": {**STR_OR_NULL, "description": "ComfyUI's error type, e.g. value_not_in_list"},
            "message": STR_OR_NULL,
            "details": {},
        },
        "required": ["path", "type", "message", "details"],
        "additionalProperties": False,
    },
}

# Every error the plugin sends: its `details` shape. The class gives the status and `type`.
_DETAILS: dict[type[e.ConnectError], tuple[str, dict[str, Any]]] = {
    e.ConnectError: ("An unexpected error (a bug): the message names it", {"type": "null"}),
    e.BadRequest: ("A bad request body or query parameter", obj({"path": STR}, nullable=True)),
    e.InvalidJSON: ("The body is not JSON (NaN and Infinity are not JSON either)", {"type": "null"}),
    e.InvalidName: ("A workflow name outside the allow-list", obj({"name": STR, "rule": STR}, ["name"])),
    e.InvalidWorkflow: ("`prompt` is not an API-format ComfyUI prompt", obj({"node_id": STR}, nullable=True)),
    e.AnnotationError: (
        "A `$`/`#`/`!` title that cannot be parsed or conflicts, one entry per problem",
        obj(
            {
                "problems": {
                    "type": "array",
                    "items": obj({"node_id": STR, "title": STR, "class_type": STR, "problem": STR}, ["node_id", "problem"]),
                    "minItems": 1,
                }
            },
            ["problems"],
        ),
    ),
    e.BypassError: (
        "A bypassed node whose consumers cannot be rewired",
        obj({"node_id": STR, "title": STR, "consumer": STR, "input": STR, "type": STR}, ["node_id"]),
    ),
    e.InputFileError: (
        "A file input that cannot be decoded, fetched or stored",
        obj({"path": STR, "status": {"type": "integer"}, "reason": STR}, ["path"]),
    ),
    e.LimitExceeded: (
        "An exposed batch-size input over CONNECT_MAX_BATCH",
        obj({"path": STR, "value": {"type": "integer"}, "limit": {"type": "integer"}}, ["path", "limit"]),
    ),
    e.AmbiguousVersion: (
        "A version prefix that several versions of the workflow start with: `candidates` lists their ids",
        obj({"name": STR, "version": STR, "candidates": {"type": "array", "items": STR}}, ["name", "version", "candidates"]),
    ),
    e.Unauthorized: ("No API key, or one that is not valid (WWW-Authenticate: Bearer)", {"type": "null"}),
    e.Forbidden: (
        "A valid API key that may not do this",
        obj({"key": STR, "access": STR, "required": STR, "workflow": STR_OR_NULL}, nullable=True),
    ),
    e.TooManyRequests: (
        "This client has its maximum of runs in flight (Retry-After says when to retry)",
        obj({"in_flight": {"type": "integer"}, "limit": {"type": "integer"}, "retry_after": {"type": "integer"}}),
    ),
    e.Unavailable: (
        "ComfyUI's queue is full (Retry-After), its prompt worker is dead, the access settings are broken, "
        "or the disk is full while an input file is stored (reason: disk_full)",
        obj({}, nullable=True),
    ),
    e.NotFound: (
        "No such workflow, job, documentation asset or download link",
        obj({"name": STR, "job_id": STR, "version": STR}, nullable=True),
    ),
    e.NotAcceptable: (
        "The delivery asked for does not fit the run's outputs: raw bytes need exactly one output, of a type the Accept header allows",
        obj({"outputs": {"type": "object", "additionalProperties": {"type": "integer"}}, "files": {"type": "integer"}, "mime_type": STR}),
    ),
    e.PayloadTooLarge: ("A body or file over the size limit", obj({"path": STR}, nullable=True)),
    e.BreakingChange: (
        "The save breaks the endpoint's contract and CONNECT_REFUSE_BREAKING is on; ?force=true saves it anyway",
        obj(
            {
                "name": STR,
                "breaking": {"type": "array", "items": STR},
                "compatible": {"type": "array", "items": STR},
                "items": {"type": "array", "items": {"type": "object"}, "description": "As a save's `changes.items`"},
            },
            ["name", "breaking"],
        ),
    ),
    e.RunInterrupted: (
        "The run was interrupted: `reason` says by whom (cancelled: DELETE on its job; client_disconnected: the caller hung up; "
        "interrupted: ComfyUI's own Cancel or POST /interrupt; removed: taken off ComfyUI's queue)",
        obj(
            {
                "prompt_id": STR,
                "node_id": STR_OR_NULL,
                "reason": {"enum": ["cancelled", "client_disconnected", "interrupted", "removed"]},
            },
            ["prompt_id"],
        ),
    ),
    e.IdempotencyMismatch: (
        "This Idempotency-Key was used before for a different request (body, timeout or webhook)",
        obj({"idempotency_key": STR, "job_id": STR}, ["idempotency_key", "job_id"]),
    ),
    e.EndpointNotReady: (
        "The workflow names node classes or files this ComfyUI does not have (GET .../ready says the same); "
        "a caller's value for an exposed input may stand in for a missing saved one. In a cluster: no live worker has them "
        "(`workers`: the instances whose reports were asked)",
        obj(
            {
                "name": STR,
                "missing": {"type": "array", "items": {"$ref": "#/components/schemas/MissingItem"}, "minItems": 1},
                "workers": {"type": "array", "items": STR},
            },
            ["name", "missing"],
        ),
    ),
    e.PayloadError: (
        "The body breaks this workflow's request schema: one entry per problem (unknown group or input, wrong type, out of range...)",
        obj({"problems": {"type": "array", "items": {"$ref": "#/components/schemas/PayloadProblem"}, "minItems": 1}}, ["problems"]),
    ),
    e.ConvertError: (
        "The UI-format workflow cannot be converted: the node (its id, as the prompt would name it, and title) and why "
        "(e.g. a node class that is not installed, a link to a node the graph does not have); or `path`: a malformed part",
        obj({"node": STR, "title": STR, "reason": STR, "path": STR}),
    ),
    e.PromptInvalid: (
        "ComfyUI's validation rejected the prompt (e.g. a model file that does not exist)",
        obj({"problems": {"type": "array", "items": {"$ref": "#/components/schemas/ComfyProblem"}, "minItems": 1}}, ["problems"]),
    ),
    e.ExecutionFailed: (
        "A node failed while running: its id, title, class and ComfyUI's message",
        obj(
            {
                "prompt_id": STR,
                "node_id": STR,
                "title": STR,
                "class_type": STR_OR_NULL,
                "exception_type": STR_OR_NULL,
                "exception_message": STR_OR_NULL,
            },
            nullable=True,
        ),
    ),
    e.WorkflowCorrupt: (
        "The stored file of the workflow cannot be used (for a plain file: `file`, `source` and, if it could not be converted"
        " or its annotations are wrong, the `cause`)",
        obj({"name": STR, "file": STR, "source": STR, "cause": {"type": "object"}}, ["name"]),
    ),
    e.NotAnEndpoint: (
        "A plain file of the workflows folder whose node titles carry no annotation: it is not an endpoint",
        obj({"name": STR, "file": STR, "source": STR}, ["name", "file"]),
    ),
    e.ReadOnlyWorkflow: (
        "The endpoint's source is a plain file (the workflows folder, or ComfyUI's own saved workflow): change that file instead",
        obj({"name": STR, "file": STR, "source": {"enum": ["folder", "user"]}}, ["name", "source"]),
    ),
    e.NameClash: (
        "Listed only: ComfyUI's saved workflow would be served under a name another endpoint has; that one is served",
        obj({"name": STR, "file": STR, "source": STR, "served": STR}, ["name", "file"]),
    ),
    e.ServerRestarted: (
        "Only in a job's `error`: ComfyUI stopped (crash or restart) while the job was running; it is not run again",
        obj({"prompt_id": STR, "reason": {"enum": ["server_restarted"]}}, ["prompt_id", "reason"]),
    ),
    e.OutputTooLarge: (
        "In a cluster: the run's output files are over CONNECT_CLUSTER_OUTPUT_MAX_BYTES, the most a job keeps in Redis",
        obj({"limit": {"type": "integer"}}, ["limit"]),
    ),
    e.DeadLettered: (
        "Only in a cluster job's `error`: it was taken CONNECT_CLUSTER_ATTEMPTS times and no worker finished it; "
        "`history` lists each attempt (instance, reason)",
        obj(
            {
                "attempts": {"type": "integer"},
                "history": {"type": "array", "items": obj({"attempt": {"type": "integer"}, "instance": STR, "reason": STR})},
            },
            ["history"],
        ),
    ),
    e.ClusterUnavailable: (
        "In a cluster: its Redis does not answer, so a job can be neither queued nor read (Retry-After says when to retry)",
        obj({"retry_after": {"type": "integer"}}, ["retry_after"]),
    ),
    e.RunTimeout: (
        "The run did not finish within the timeout and was cancelled",
        obj({"prompt_id": STR, "timeout": {"type": "number"}}),
    ),
}


def error_schema_name(cls: type[e.ConnectError]) -> str:
    return "InternalError" if cls is e.ConnectError else cls.__name__


def documented_errors() -> tuple[type[e.ConnectError], ...]:
    return tuple(_DETAILS)


def json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def errors(classes: Iterable[type[e.ConnectError]]) -> dict[str, Any]:
    """Responses by status; a status several errors share lists each (its `type` tells them apart)."""
    by_status: dict[int, list[type[e.ConnectError]]] = {}
    every: list[type[e.ConnectError]] = [*classes, e.ConnectError]  # any handler can fail unexpectedly: 500 internal_error
    for cls in every:
        by_status.setdefault(cls.status, []).append(cls)
    responses = {}
    for status, group in sorted(by_status.items()):
        refs = [{"$ref": f"#/components/schemas/{error_schema_name(cls)}"} for cls in group]
        schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
        text = "; ".join(f"`{cls.type}`: {_DETAILS[cls][0]}" for cls in group)
        responses[str(status)] = {"description": text, "content": {"application/json": {"schema": schema}}}
    return responses


def _error_schema(cls: type[e.ConnectError]) -> dict[str, Any]:
    description, details = _DETAILS[cls]
    body = {
        "type": "object",
        "properties": {"type": {"type": "string", "const": cls.type}, "message": STR, "details": details},
        "required": ["type", "message", "details"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": f"HTTP {cls.status}: {description}",
        "properties": {"error": body},
        "required": ["error"],
        "additionalProperties": False,
    }


def error_schemas() -> dict[str, Any]:
    """One component per documented error, named by error_schema_name."""
    return {error_schema_name(cls): _error_schema(cls) for cls in _DETAILS}
