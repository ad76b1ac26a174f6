"""The OpenAPI 3.1 document: every route the plugin serves, and one typed run operation per saved workflow.

Each run operation's request schema is ``contract.body_schema()``, the same schema the run path
validates against (see contract.py, validation.py), built when the document is requested: combo lists
(model files, samplers) are the live ones, and each input's `default` is the value saved in the
workflow. Every error response is described by its status, its `type` and the shape of its `details`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .. import errors as e
from ..workflow.store import NAME_RULE, SavedWorkflow
from .openapi_io import OUTPUT_PARAMETER, files_operation, multipart_body, run_success
from .openapi_io import SCHEMAS as OUTPUT_SCHEMAS
from .schema import SHARED_SCHEMAS, SpecLookup, build_contract

PREFIX = "/api/connect"
DOCS_ASSETS = {
    "swagger-ui-bundle.js": ("text/javascript", "application/javascript"),
    "swagger-ui.css": ("text/css",),
    "favicon-32x32.png": ("image/png",),
}

# Routes that answer without an API key even when keys are configured.
_PUBLIC_OPERATIONS = ("health", "ready", "login_page", "login", "logout", "docs_page", "docs_asset", "download_file")
_OBJ = "object"
_NULLABLE_OBJECT = ["object", "null"]


def _object(properties: Mapping[str, Any], required: Iterable[str] = (), nullable: bool = False) -> dict[str, Any]:
    schema = {"type": _NULLABLE_OBJECT if nullable else _OBJ, "properties": dict(properties)}
    return {**schema, "required": list(required)} if required else schema


_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_PROBLEMS_OF = {
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
            "path": _STR,
            "node_id": _STR,
            "class_type": _STR_OR_NULL,
            "type": {**_STR_OR_NULL, "description": "ComfyUI's error type, e.g. value_not_in_list"},
            "message": _STR_OR_NULL,
            "details": {},
        },
        "required": ["path", "type", "message", "details"],
        "additionalProperties": False,
    },
}

# Every error the plugin sends: its `details` shape. The class gives the status and `type`.
_ERROR_DETAILS: dict[type[e.ConnectError], tuple[str, dict[str, Any]]] = {
    e.ConnectError: ("An unexpected error (a bug): the message names it", {"type": "null"}),
    e.BadRequest: ("A bad request body or query parameter", _object({"path": _STR}, nullable=True)),
    e.InvalidJSON: ("The body is not JSON (NaN and Infinity are not JSON either)", {"type": "null"}),
    e.InvalidName: ("A workflow name outside the allow-list", _object({"name": _STR, "rule": _STR}, ["name"])),
    e.InvalidWorkflow: ("`prompt` is not an API-format ComfyUI prompt", _object({"node_id": _STR}, nullable=True)),
    e.AnnotationError: (
        "A `$`/`#`/`!` title that cannot be parsed or conflicts, one entry per problem",
        _object(
            {
                "problems": {
                    "type": "array",
                    "items": _object({"node_id": _STR, "title": _STR, "class_type": _STR, "problem": _STR}, ["node_id", "problem"]),
                    "minItems": 1,
                }
            },
            ["problems"],
        ),
    ),
    e.BypassError: (
        "A bypassed node whose consumers cannot be rewired",
        _object({"node_id": _STR, "title": _STR, "consumer": _STR, "input": _STR, "type": _STR}, ["node_id"]),
    ),
    e.InputFileError: (
        "A file input that cannot be decoded, fetched or stored",
        _object({"path": _STR, "status": {"type": "integer"}, "reason": _STR}, ["path"]),
    ),
    e.LimitExceeded: (
        "An exposed batch-size input over CONNECT_MAX_BATCH",
        _object({"path": _STR, "value": {"type": "integer"}, "limit": {"type": "integer"}}, ["path", "limit"]),
    ),
    e.Unauthorized: ("No API key, or one that is not valid (WWW-Authenticate: Bearer)", {"type": "null"}),
    e.Forbidden: (
        "A valid API key that may not do this",
        _object({"key": _STR, "access": _STR, "required": _STR, "workflow": _STR_OR_NULL}, nullable=True),
    ),
    e.TooManyRequests: (
        "This client has its maximum of runs in flight (Retry-After says when to retry)",
        _object({"in_flight": {"type": "integer"}, "limit": {"type": "integer"}, "retry_after": {"type": "integer"}}),
    ),
    e.Unavailable: (
        "ComfyUI's queue is full (Retry-After), its prompt worker is dead, the access settings are broken, "
        "or the disk is full while an input file is stored (reason: disk_full)",
        _object({}, nullable=True),
    ),
    e.NotFound: (
        "No such workflow, job, documentation asset or download link",
        _object({"name": _STR, "job_id": _STR}, nullable=True),
    ),
    e.NotAcceptable: (
        "The delivery asked for does not fit the run's outputs: raw bytes need exactly one output, of a type the Accept header allows",
        _object(
            {"outputs": {"type": "object", "additionalProperties": {"type": "integer"}}, "files": {"type": "integer"}, "mime_type": _STR}
        ),
    ),
    e.PayloadTooLarge: ("A body or file over the size limit", _object({"path": _STR}, nullable=True)),
    e.RunInterrupted: (
        "The run was interrupted: `reason` says by whom (cancelled: DELETE on its job; client_disconnected: the caller hung up; "
        "interrupted: ComfyUI's own Cancel or POST /interrupt; removed: taken off ComfyUI's queue)",
        _object(
            {
                "prompt_id": _STR,
                "node_id": _STR_OR_NULL,
                "reason": {"enum": ["cancelled", "client_disconnected", "interrupted", "removed"]},
            },
            ["prompt_id"],
        ),
    ),
    e.IdempotencyMismatch: (
        "This Idempotency-Key was used before for a different request (body, timeout or webhook)",
        _object({"idempotency_key": _STR, "job_id": _STR}, ["idempotency_key", "job_id"]),
    ),
    e.PayloadError: (
        "The body breaks this workflow's request schema: one entry per problem (unknown group or input, wrong type, out of range...)",
        _object({"problems": {"type": "array", "items": {"$ref": "#/components/schemas/PayloadProblem"}, "minItems": 1}}, ["problems"]),
    ),
    e.PromptInvalid: (
        "ComfyUI's validation rejected the prompt (e.g. a model file that does not exist)",
        _object({"problems": {"type": "array", "items": {"$ref": "#/components/schemas/ComfyProblem"}, "minItems": 1}}, ["problems"]),
    ),
    e.ExecutionFailed: (
        "A node failed while running: its id, title, class and ComfyUI's message",
        _object(
            {
                "prompt_id": _STR,
                "node_id": _STR,
                "title": _STR,
                "class_type": _STR_OR_NULL,
                "exception_type": _STR_OR_NULL,
                "exception_message": _STR_OR_NULL,
            },
            nullable=True,
        ),
    ),
    e.WorkflowCorrupt: ("The stored file of the workflow cannot be used", _object({"name": _STR}, ["name"])),
    e.RunTimeout: (
        "The run did not finish within the timeout and was cancelled",
        _object({"prompt_id": _STR, "timeout": {"type": "number"}}),
    ),
}

# Which errors each kind of operation can answer with (every handler can also fail unexpectedly).
_NAMED = (e.InvalidName, e.NotFound, e.WorkflowCorrupt)
_RUN_ERRORS = (
    *_NAMED,
    e.BadRequest,
    e.LimitExceeded,
    e.TooManyRequests,
    e.Unavailable,
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
    e.RunTimeout,
)
_SAVE_ERRORS = (e.InvalidName, e.InvalidJSON, e.BadRequest, e.InvalidWorkflow, e.AnnotationError, e.PayloadTooLarge)
_DELETE_ERRORS = (e.InvalidName, e.NotFound)


def error_schema_name(cls: type[e.ConnectError]) -> str:
    return "InternalError" if cls is e.ConnectError else cls.__name__


def documented_errors() -> tuple[type[e.ConnectError], ...]:
    return tuple(_ERROR_DETAILS)


def build_document(
    workflows: list[SavedWorkflow],
    specs: SpecLookup,
    broken: Mapping[str, e.ConnectError],
    version: str,
    run_timeout: float = 600.0,
    *,
    secured: bool = False,
    sync_wait: float = 100.0,
) -> dict[str, Any]:
    ids = _operation_suffixes(w.name for w in workflows)
    paths: dict[str, Any] = {
        PREFIX: {"get": _docs_page()},
        f"{PREFIX}/docs/{{asset}}": {"get": _docs_asset()},
        f"{PREFIX}/openapi.json": {"get": _openapi_json()},
        f"{PREFIX}/workflows": {"get": _list_workflows()},
        f"{PREFIX}/workflows/{{name}}": {
            **_management_ops(""),
            "post": _run_operation("run_workflow", "Run a saved workflow by name", _GENERIC_BODY, None, None, run_timeout, sync_wait),
        },
        **_job_paths(),
        f"{PREFIX}/files/{{token}}/{{name}}": {"get": files_operation(_errors((e.NotFound,)))},
        **_service_paths(),
    }
    for saved in workflows:
        suffix = ids[saved.name]
        contract = build_contract(saved.endpoint, specs)
        body, example = contract.body_schema(), contract.example()
        outputs = list(saved.endpoint.outputs)
        run = _run_operation("run" + suffix, f"Run workflow {saved.name}", body, example, outputs, run_timeout, sync_wait)
        paths[f"{PREFIX}/workflows/{saved.name}"] = {**_management_ops(suffix), "post": run}
    description = "Saved ComfyUI workflows served as HTTP endpoints. Run one with `POST /api/connect/workflows/<name>`."
    if broken:
        description += "\n\nWorkflows that cannot be served:\n" + "\n".join(f"- `{n}`: {err.message}" for n, err in sorted(broken.items()))
    document = {
        "openapi": "3.1.0",
        "info": {"title": "ComfyUI-Connect", "version": version, "description": description},
        "tags": [
            {"name": "workflows", "description": "Run saved workflows"},
            {"name": "jobs", "description": "Follow, list and cancel runs; progress as Server-Sent Events"},
            {"name": "manage", "description": "Save, list, describe and delete workflows"},
            {"name": "docs", "description": "This document and its page"},
            {"name": "service", "description": "Health, readiness, metrics and the browser login"},
        ],
        "paths": paths,
        "components": {"schemas": _shared_schemas()},
    }
    return _secure(document) if secured else document


def _secure(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the bearer key (Swagger UI's Authorize button) and the 401/403 every guarded route can answer."""
    document["components"]["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer", "description": "A key of CONNECT_API_KEYS"}}
    document["security"] = [{"apiKey": []}]
    for item in document["paths"].values():
        for operation in item.values():
            if operation["operationId"] in _PUBLIC_OPERATIONS:
                operation["security"] = []
            else:
                auth = _errors((e.Unauthorized, e.Forbidden))
                operation["responses"].update({status: auth[status] for status in ("401", "403")})
    return document


def _service_paths() -> dict[str, Any]:
    """Health, readiness, metrics and the browser login (README "Safe to expose")."""
    error = {"$ref": "#/components/schemas/Unavailable"}
    html = {"text/html": {"schema": {"type": "string"}}}
    redirect = {"description": "Redirect (Location header)", "headers": {"Location": {"schema": {"type": "string"}}}}
    form = {
        "type": "object",
        "properties": {
            "key": {"type": "string", "description": "An API key (needed when keys are configured; without keys the form only redirects)"},
            "next": {"type": "string", "description": "Path to go to after login"},
        },
    }
    ready = {
        "type": "object",
        "properties": {"status": {"const": "ready"}, "queue_depth": {"type": "integer"}, "worker_alive": {"type": "boolean"}},
    }
    health = {
        "type": "object",
        "properties": {"status": {"const": "ok"}, "version": {"type": "string"}, "worker_alive": {"type": "boolean"}},
    }

    def op(operation_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"operationId": operation_id, "summary": summary, "tags": ["service"], "responses": responses, **extra}

    return {
        f"{PREFIX}/health": {"get": op("health", "Liveness: the HTTP server answers", {"200": _inline("Alive", health)})},
        f"{PREFIX}/ready": {
            "get": op(
                "ready",
                "Readiness: 503 when the queue is over its threshold or ComfyUI's prompt worker is dead",
                {"200": _inline("Ready", ready), "503": _inline("Not ready (details say why)", error)},
            )
        },
        f"{PREFIX}/metrics": {
            "get": op(
                "metrics",
                "Prometheus metrics (text format): requests, latencies, queue wait and execution time, errors by type",
                {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
            )
        },
        f"{PREFIX}/login": {
            "get": op("login_page", "A form where a browser presents an API key once", {"200": {"description": "Form", "content": html}}),
            "post": op(
                "login",
                "Check the key and set an HttpOnly, SameSite=Strict session cookie",
                {"303": redirect, "401": {"description": "Key not valid (the form again)", "content": html}, **_errors((e.BadRequest,))},
                requestBody={"required": False, "content": {"application/x-www-form-urlencoded": {"schema": form}}},
            ),
        },
        f"{PREFIX}/logout": {"post": op("logout", "Clear the session cookie", {"303": redirect})},
    }


def _inline(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation_suffixes(names: Iterable[str]) -> dict[str, str]:
    """`team/up-scale` -> `_team_up_scale`; names that map to the same identifier get `_2`, `_3`..."""
    taken: set[str] = set()
    suffixes = {}
    for name in sorted(names):
        base = "_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
        suffix, n = base, 1
        while suffix in taken:
            n += 1
            suffix = f"{base}_{n}"
        taken.add(suffix)
        suffixes[name] = suffix
    return suffixes


# -- run -------------------------------------------------------------------------------------------
_GENERIC_BODY = {
    "type": "object",
    "description": "Input groups of the named workflow: each an object of its inputs, or false to bypass it. "
    "Each saved workflow's own operation has the exact schema.",
    "additionalProperties": {"oneOf": [{"type": "object"}, {"type": "boolean", "const": False}]},
}


def _run_operation(
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
        "parameters": ([] if outputs is not None else [_NAME_PARAM]) + [timeout, OUTPUT_PARAMETER, *_RUN_JOB_PARAMETERS],
        "requestBody": {"required": False, "content": {"application/json": media, "multipart/form-data": multipart_body(body)}},
        "responses": {
            "200": _with_headers(run_success(outputs), {**_PROMPT_HEADERS, **_REPLAYED_HEADER}),
            "202": {
                "description": "The run goes on as a job (asked for, or past the wait budget): follow it at `Location`",
                "headers": {**_PROMPT_HEADERS, **_REPLAYED_HEADER, "Location": {"schema": {"type": "string"}, "description": "The job"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}},
            },
            **_errors(_RUN_ERRORS),
        },
    }


def _with_headers(response: dict[str, Any], headers: dict[str, Any]) -> dict[str, Any]:
    return {**response, "headers": {**response.get("headers", {}), **headers}}


# -- management ------------------------------------------------------------------------------------
_NAME_PARAM = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "Workflow name: 1-64 letters, digits, `-` or `_` per part, up to 5 parts separated by `/`",
    "schema": {"type": "string", "pattern": f"^{NAME_RULE}$"},
}


def _management_ops(suffix: str) -> dict[str, Any]:
    params = [] if suffix else [_NAME_PARAM]
    return {
        "get": {
            "operationId": "describe_workflow" + suffix,
            "summary": "Describe a workflow: inputs with saved values, outputs, bypassable groups, cached nodes",
            "tags": ["manage"],
            "parameters": params,
            "responses": {"200": _json_response("The workflow", "WorkflowDescription"), **_errors(_NAMED)},
        },
        "put": {
            "operationId": "save_workflow" + suffix,
            "summary": "Save (create or replace) a workflow",
            "tags": ["manage"],
            "parameters": params,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SaveRequest"}}}},
            "responses": {
                "200": _json_response("Replaced", "WorkflowDescription"),
                "201": _json_response("Created", "WorkflowDescription"),
                **_errors(_SAVE_ERRORS),
            },
        },
        "delete": {
            "operationId": "delete_workflow" + suffix,
            "summary": "Delete a workflow",
            "tags": ["manage"],
            "parameters": params,
            "responses": {"204": {"description": "Deleted"}, **_errors(_DELETE_ERRORS)},
        },
    }


def _list_workflows() -> dict[str, Any]:
    return {
        "operationId": "list_workflows",
        "summary": "List saved workflows (and the stored files that cannot be served)",
        "tags": ["manage"],
        "responses": {"200": _json_response("Saved workflows", "WorkflowList"), **_errors(())},
    }


# -- docs ------------------------------------------------------------------------------------------
def _docs_page() -> dict[str, Any]:
    return {
        "operationId": "docs_page",
        "summary": "This documentation, as an interactive page (Swagger UI, served locally)",
        "tags": ["docs"],
        "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}, **_errors(())},
    }


def _docs_asset() -> dict[str, Any]:
    media_types = sorted({t for types in DOCS_ASSETS.values() for t in types})
    return {
        "operationId": "docs_asset",
        "summary": "A file of the documentation page",
        "tags": ["docs"],
        "parameters": [{"name": "asset", "in": "path", "required": True, "schema": {"type": "string", "enum": list(DOCS_ASSETS)}}],
        "responses": {
            "200": {"description": "The file", "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in media_types}},
            **_errors((e.NotFound,)),
        },
    }


def _openapi_json() -> dict[str, Any]:
    etag = {"ETag": {"schema": {"type": "string"}, "description": "Changes whenever the document does"}}
    return {
        "operationId": "openapi_document",
        "summary": "This OpenAPI document, rebuilt when a workflow is saved, deleted or changed on disk",
        "tags": ["docs"],
        "parameters": [
            {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}, "description": "An ETag seen before"}
        ],
        "responses": {
            "200": {
                "description": "OpenAPI 3.1 document",
                "headers": etag,
                "content": {"application/json": {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}},
            },
            "304": {"description": "Not modified: If-None-Match matched the ETag", "headers": etag},
            **_errors(()),
        },
    }


# -- shared pieces ---------------------------------------------------------------------------------
def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _errors(classes: Iterable[type[e.ConnectError]]) -> dict[str, Any]:
    """Responses by status; a status several errors share lists each (its `type` tells them apart)."""
    by_status: dict[int, list[type[e.ConnectError]]] = {}
    every: list[type[e.ConnectError]] = [*classes, e.ConnectError]  # any handler can fail unexpectedly: 500 internal_error
    for cls in every:
        by_status.setdefault(cls.status, []).append(cls)
    responses = {}
    for status, group in sorted(by_status.items()):
        refs = [{"$ref": f"#/components/schemas/{error_schema_name(cls)}"} for cls in group]
        schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
        text = "; ".join(f"`{cls.type}`: {_ERROR_DETAILS[cls][0]}" for cls in group)
        responses[str(status)] = {"description": text, "content": {"application/json": {"schema": schema}}}
    return responses


def _error_schema(cls: type[e.ConnectError]) -> dict[str, Any]:
    description, details = _ERROR_DETAILS[cls]
    body = {
        "type": "object",
        "properties": {"type": {"type": "string", "const": cls.type}, "message": _STR, "details": details},
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


_MODES = ["none", "prompt", "workflow", "full"]
_METADATA_FIELDS: dict[str, Any] = {
    "metadata": {"enum": [*_MODES, None], "description": "What outputs embed, as the workflow's owner chose (null: the server's)"},
    "embeds": {"enum": _MODES, "description": "What outputs embed: none, the endpoint's prompt, its UI workflow, or both (full)"},
}


def _shared_schemas() -> dict[str, Any]:
    node = {
        "type": "object",
        "properties": {"class_type": _STR, "inputs": {"type": "object"}},
        "required": ["class_type"],
    }
    description = _object(
        {
            "name": _STR,
            "saved_at": _STR,
            "timeout": {"type": ["number", "null"], "description": "The workflow's own execution timeout (seconds), if set"},
            **_METADATA_FIELDS,
            "inputs": {
                "type": "object",
                "description": "Input groups: the nodes of each and its exposed inputs with their saved values",
                "additionalProperties": _object(
                    {"nodes": {"type": "array", "items": _STR}, "inputs": {"type": "object"}}, ["nodes", "inputs"]
                ),
            },
            "outputs": {"type": "object", "additionalProperties": {"type": "array", "items": _STR}},
            "bypassable": {"type": "array", "items": _STR},
            "bypassed": {"type": "array", "items": _STR},
            "cached": {"type": "array", "items": _STR},
        },
        ["name", "saved_at", "timeout", "metadata", "embeds", "inputs", "outputs", "bypassable", "bypassed", "cached"],
    )
    errors = {error_schema_name(cls): _error_schema(cls) for cls in _ERROR_DETAILS}
    return {
        **SHARED_SCHEMAS,
        **OUTPUT_SCHEMAS,
        **_PROBLEMS_OF,
        **errors,
        "SaveRequest": {
            "type": "object",
            "properties": {
                "prompt": {
                    "type": "object",
                    "description": "API-format prompt (`app.graphToPrompt().output`): nodes keyed by id",
                    "minProperties": 1,
                    "additionalProperties": node,
                },
                "workflow": {"description": "UI-format workflow, kept for reference"},
                "timeout": {
                    "type": ["number", "null"],
                    "exclusiveMinimum": 0,
                    "description": "Seconds a run of this workflow may execute by default (capped by CONNECT_RUN_TIMEOUT); "
                    "null removes it; left out, the saved one is kept",
                },
                "metadata": {**_METADATA_FIELDS["metadata"], "description": "What outputs embed; null: CONNECT_METADATA; left out: kept"},
            },
            "required": ["prompt"],
        },
        **_JOB_SCHEMAS,
        "WorkflowDescription": description,
        "WorkflowList": _object(
            {
                "workflows": {"type": "array", "items": {"$ref": "#/components/schemas/WorkflowDescription"}},
                "errors": {
                    "type": "object",
                    "description": "Stored files that cannot be served, by name",
                    # A file that vanishes while the list is read shows as not_found.
                    "additionalProperties": {
                        "anyOf": [{"$ref": "#/components/schemas/WorkflowCorrupt"}, {"$ref": "#/components/schemas/NotFound"}]
                    },
                },
            },
            ["workflows", "errors"],
        ),
    }


# -- jobs ------------------------------------------------------------------------------------------
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
# One Server-Sent Event as a reader parses it: `data` is JSON text (see connect/events.py for each event's data).
_SSE_EVENT = _object(
    {
        "event": {"enum": ["queued", "position", "started", "cached", "node", "progress", "output", "succeeded", "failed", "cancelled"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
    },
    ["event", "data", "id"],
)
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The job's id"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_JOB_SCHEMAS = {
    "Job": {
        "type": "object",
        "description": "One run of a workflow. `status`: queued -> running -> succeeded, failed or cancelled",
        "properties": {
            "id": _STR,
            "workflow": _STR,
            "status": {"enum": ["queued", "running", "succeeded", "failed", "cancelled"]},
            "prompt_id": {**_STR, "description": "ComfyUI's prompt id"},
            "position": {"type": ["integer", "null"], "minimum": 1, "description": "While queued: 1 runs next"},
            "progress": {
                "description": "While running: the node executing and its steps (e.g. sampler steps)",
                "anyOf": [
                    _object(
                        {
                            "node": _STR,
                            "title": _STR_OR_NULL,
                            "class_type": _STR,
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
                "anyOf": [_object({"type": _STR, "message": _STR, "details": {}}, ["type", "message", "details"]), {"type": "null"}],
            },
            "outputs": {
                "description": "When succeeded (GET of one job): every `#` output, as the run call returns them",
                "type": ["object", "null"],
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
            "result_expired": {"type": "boolean", "description": "The outputs are no longer kept (CONNECT_JOB_RESULTS_TTL)"},
            "webhook": {
                "anyOf": [
                    _object(
                        {
                            "url": _STR,
                            "state": {"enum": ["pending", "delivered", "failed"]},
                            "attempts": {"type": "integer"},
                            "last_status": {"type": ["integer", "null"]},
                            "last_error": _STR_OR_NULL,
                        },
                        ["url", "state", "attempts"],
                    ),
                    {"type": "null"},
                ]
            },
            "links": _object({"self": _STR, "events": _STR}, ["self", "events"]),
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
    "JobList": _object({"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}}, ["jobs"]),
}


def _job_paths() -> dict[str, Any]:
    job = _json_response("The job", "Job")
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
                {"200": _json_response("Jobs", "JobList"), **_errors((e.BadRequest,))},
                listing,
            )
        },
        f"{PREFIX}/jobs/{{job_id}}": {
            "get": op(
                "get_job", "A job: status, position or progress, timings, outputs or error", {"200": job, **_errors(_JOB_ERRORS)}, [_JOB_ID]
            ),
            "delete": op(
                "cancel_job",
                "Cancel a job: a queued one is taken off the queue, a running one interrupted (no other run is touched)",
                {
                    "200": _json_response("Ended (or had ended)", "Job"),
                    "202": _json_response("ComfyUI has not confirmed the stop yet", "Job"),
                    **_errors(_JOB_ERRORS),
                },
                [_JOB_ID],
            ),
        },
        f"{PREFIX}/jobs/{{job_id}}/events": {
            "get": op(
                "job_events",
                "A job's progress as Server-Sent Events",
                {"200": events, **_errors((e.BadRequest, *_JOB_ERRORS))},
                [_JOB_ID, *resume],
            )
        },
    }


_JOB_ERRORS = (e.NotFound,)
