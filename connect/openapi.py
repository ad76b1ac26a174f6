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

from . import errors as e
from .contract import SHARED_SCHEMAS, SpecLookup, build_contract
from .openapi_io import OUTPUT_PARAMETER, files_operation, multipart_body, run_success
from .openapi_io import SCHEMAS as OUTPUT_SCHEMAS
from .store import NAME_RULE, SavedWorkflow

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
        "ComfyUI's queue is full (Retry-After), its prompt worker is dead, or the access settings are broken",
        _object({}, nullable=True),
    ),
    e.NotFound: ("No such workflow (or documentation asset, or download link)", _object({"name": _STR}, nullable=True)),
    e.NotAcceptable: (
        "The delivery asked for does not fit the run's outputs: raw bytes need exactly one output, of a type the Accept header allows",
        _object(
            {"outputs": {"type": "object", "additionalProperties": {"type": "integer"}}, "files": {"type": "integer"}, "mime_type": _STR}
        ),
    ),
    e.PayloadTooLarge: ("A body or file over the size limit", _object({"path": _STR}, nullable=True)),
    e.RunInterrupted: ("The run was interrupted", _object({"prompt_id": _STR, "node_id": _STR_OR_NULL}, ["prompt_id"])),
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
) -> dict[str, Any]:
    ids = _operation_suffixes(w.name for w in workflows)
    paths: dict[str, Any] = {
        PREFIX: {"get": _docs_page()},
        f"{PREFIX}/docs/{{asset}}": {"get": _docs_asset()},
        f"{PREFIX}/openapi.json": {"get": _openapi_json()},
        f"{PREFIX}/workflows": {"get": _list_workflows()},
        f"{PREFIX}/workflows/{{name}}": {
            **_management_ops(""),
            "post": _run_operation("run_workflow", "Run a saved workflow by name", _GENERIC_BODY, None, None, run_timeout),
        },
        f"{PREFIX}/files/{{token}}/{{name}}": {"get": files_operation(_errors((e.NotFound,)))},
        **_service_paths(),
    }
    for saved in workflows:
        suffix = ids[saved.name]
        contract = build_contract(saved.endpoint, specs)
        outputs = list(saved.endpoint.outputs)
        run = _run_operation("run" + suffix, f"Run workflow {saved.name}", contract.body_schema(), contract.example(), outputs, run_timeout)
        paths[f"{PREFIX}/workflows/{saved.name}"] = {**_management_ops(suffix), "post": run}
    description = "Saved ComfyUI workflows served as HTTP endpoints. Run one with `POST /api/connect/workflows/<name>`."
    if broken:
        description += "\n\nWorkflows that cannot be served:\n" + "\n".join(f"- `{n}`: {err.message}" for n, err in sorted(broken.items()))
    document = {
        "openapi": "3.1.0",
        "info": {"title": "ComfyUI-Connect", "version": version, "description": description},
        "tags": [
            {"name": "workflows", "description": "Run saved workflows"},
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
        "properties": {"key": {"type": "string"}, "next": {"type": "string", "description": "Path to go to after login"}},
        "required": ["key"],
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
                {
                    "303": redirect,
                    "400": {"description": "No key sent (the form again)", "content": html},
                    "401": {"description": "Key not valid (the form again)", "content": html},
                },
                requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": form}}},
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
) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": body}
    if example is not None:
        media["example"] = example
    timeout = {
        "name": "timeout",
        "in": "query",
        "required": False,
        "description": f"Seconds to wait for the run before it is cancelled with 504 (at most {run_timeout:g})",
        "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": run_timeout},
    }
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": "Runs the workflow with the saved values, changed by the request body; returns every `#` output "
        "(files in batch order, and values nodes show, such as PreviewAny's text) in the form `?output=` or the Accept header "
        "chooses. An empty body runs it as saved. Files can be sent inline (base64), by URL, or as parts of a "
        "multipart/form-data body.",
        "tags": ["workflows"],
        "parameters": ([] if outputs is not None else [_NAME_PARAM]) + [timeout, OUTPUT_PARAMETER],
        "requestBody": {"required": False, "content": {"application/json": media, "multipart/form-data": multipart_body(body)}},
        "responses": {"200": run_success(outputs), **_errors(_RUN_ERRORS)},
    }


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
        ["name", "saved_at", "inputs", "outputs", "bypassable", "bypassed", "cached"],
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
            },
            "required": ["prompt"],
        },
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
