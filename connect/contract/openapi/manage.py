"""The operations that manage saved workflows: describe, save, delete, list; and their schemas."""

from __future__ import annotations

from typing import Any

from ... import errors as e
from ...workflow.store import NAME_RULE
from .responses import STR, errors, json_response, obj

NAMED = (e.InvalidName, e.NotFound, e.WorkflowCorrupt)
_SAVE_ERRORS = (
    e.InvalidName,
    e.InvalidJSON,
    e.BadRequest,
    e.InvalidWorkflow,
    e.AnnotationError,
    e.PayloadTooLarge,
    e.ConvertError,
    e.ReadOnlyWorkflow,
)
_CONVERT_ERRORS = (e.InvalidJSON, e.PayloadTooLarge, e.ConvertError)
_DELETE_ERRORS = (e.InvalidName, e.NotFound, e.ReadOnlyWorkflow)

NAME_PARAM = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "Workflow name: 1-64 letters, digits, `-` or `_` per part, up to 5 parts separated by `/`",
    "schema": {"type": "string", "pattern": f"^{NAME_RULE}$"},
}

_MODES = ["none", "prompt", "workflow", "full"]
_METADATA_FIELDS: dict[str, Any] = {
    "metadata": {"enum": [*_MODES, None], "description": "What outputs embed, as the workflow's owner chose (null: the server's)"},
    "embeds": {"enum": _MODES, "description": "What outputs embed: none, the endpoint's prompt, its UI workflow, or both (full)"},
}


_READINESS_FIELDS: dict[str, Any] = {
    "ready": {
        "type": "boolean",
        "description": "Whether it can run on this ComfyUI: every node class, model file and input file it names is here",
    },
    "missing": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/MissingItem"},
        "description": "What it names that is not (empty when ready)",
    },
}


def management_ops(suffix: str) -> dict[str, Any]:
    params = [] if suffix else [NAME_PARAM]
    return {
        "get": {
            "operationId": "describe_workflow" + suffix,
            "summary": "Describe a workflow: inputs with saved values, outputs, bypassable groups, cached nodes",
            "tags": ["manage"],
            "parameters": params,
            "responses": {"200": json_response("The workflow", "WorkflowDescription"), **errors(NAMED)},
        },
        "put": {
            "operationId": "save_workflow" + suffix,
            "summary": "Save (create or replace) a workflow",
            "tags": ["manage"],
            "parameters": params,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SaveRequest"}}}},
            "responses": {
                "200": json_response("Replaced", "WorkflowDescription"),
                "201": json_response("Created", "WorkflowDescription"),
                **errors(_SAVE_ERRORS),
            },
        },
        "delete": {
            "operationId": "delete_workflow" + suffix,
            "summary": "Delete a workflow",
            "tags": ["manage"],
            "parameters": params,
            "responses": {"204": {"description": "Deleted"}, **errors(_DELETE_ERRORS)},
        },
    }


def convert_workflow() -> dict[str, Any]:
    return {
        "operationId": "convert_workflow",
        "summary": "Convert a UI-format workflow (what ComfyUI's Save writes) to the API-format prompt its frontend would queue",
        "description": "The same prompt `app.graphToPrompt()` makes in the page of the frontend this ComfyUI serves: subgraphs "
        'flattened (ids like "12:5"), widget values by input name, links through reroutes and bypassed nodes, muted and '
        "frontend-only nodes left out. Node definitions are ComfyUI's own, custom nodes included.",
        "tags": ["manage"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UIWorkflow"}}},
        },
        "responses": {"200": json_response("The API-format prompt", "ConvertResult"), **errors(_CONVERT_ERRORS)},
    }


def convert_schemas() -> dict[str, Any]:
    workflow = {
        "type": "object",
        "description": "A UI-format workflow: `nodes`, `links`, `groups`, `definitions.subgraphs`, `extra`... "
        '(also taken wrapped as `{"workflow": ...}`)',
        "properties": {
            "nodes": {"type": "array", "items": {"type": "object"}},
            "links": {"type": "array", "items": {}},
            "workflow": {"description": "the workflow, when the body wraps it (read only without `nodes`)"},
        },
    }
    result = {
        "type": "object",
        "properties": {"prompt": {"type": "object", "description": "API-format prompt: nodes keyed by id"}},
        "required": ["prompt"],
        "additionalProperties": False,
    }
    return {"UIWorkflow": workflow, "ConvertResult": result}


def list_workflows() -> dict[str, Any]:
    return {
        "operationId": "list_workflows",
        "summary": "List saved workflows (and the stored files that cannot be served)",
        "tags": ["manage"],
        "responses": {"200": json_response("Saved workflows", "WorkflowList"), **errors(())},
    }


def save_request() -> dict[str, Any]:
    node = {
        "type": "object",
        "properties": {"class_type": STR, "inputs": {"type": "object"}},
        "required": ["class_type"],
    }
    return {
        "type": "object",
        "properties": {
            "prompt": {
                "type": "object",
                "description": "API-format prompt (`app.graphToPrompt().output`): nodes keyed by id",
                "minProperties": 1,
                "additionalProperties": node,
            },
            "workflow": {
                "description": "UI-format workflow (what ComfyUI's Save writes), kept with the endpoint as given; without a "
                "`prompt` the server converts it as POST /api/connect/convert does (then it must be a UI-format object)",
            },
            "timeout": {
                "type": ["number", "null"],
                "exclusiveMinimum": 0,
                "description": "Seconds a run of this workflow may execute by default (capped by CONNECT_RUN_TIMEOUT); "
                "null removes it; left out, the saved one is kept",
            },
            "metadata": {**_METADATA_FIELDS["metadata"], "description": "What outputs embed; null: CONNECT_METADATA; left out: kept"},
        },
        "anyOf": [{"required": ["prompt"]}, {"required": ["workflow"]}],
    }


def workflow_schemas() -> dict[str, Any]:
    """WorkflowDescription (what describe and save answer) and WorkflowList."""
    description = obj(
        {
            "name": STR,
            "saved_at": STR,
            "timeout": {"type": ["number", "null"], "description": "The workflow's own execution timeout (seconds), if set"},
            **_METADATA_FIELDS,
            "inputs": {
                "type": "object",
                "description": "Input groups: the nodes of each and its exposed inputs with their saved values",
                "additionalProperties": obj({"nodes": {"type": "array", "items": STR}, "inputs": {"type": "object"}}, ["nodes", "inputs"]),
            },
            "outputs": {"type": "object", "additionalProperties": {"type": "array", "items": STR}},
            "bypassable": {"type": "array", "items": STR},
            "bypassed": {"type": "array", "items": STR},
            "cached": {"type": "array", "items": STR},
            "operation_id": {"type": "string", "description": "The operationId of this workflow's run operation in the document"},
            "source": {
                "enum": ["api", "folder", "user"],
                "description": "Where it comes from: api (saved through the API or the UI menu), folder (a plain file in "
                "CONNECT_WORKFLOWS_DIR), user (ComfyUI's own saved workflow with a # output)",
            },
            "file": {"type": ["string", "null"], "description": "For folder and user: the file's path in its folder"},
            **_READINESS_FIELDS,
            "version": {"type": ["string", "null"], "description": "The id of the version shown (GET .../versions lists them)"},
            "changes": {
                "$ref": "#/components/schemas/Changes",
                "description": "In a save's answer: what it changes for callers against the version it replaced",
            },
        },
        [
            *("name", "saved_at", "timeout", "metadata", "embeds", "inputs", "outputs", "bypassable", "bypassed", "cached"),
            *("operation_id", "ready", "missing"),
        ],
    )
    listing = obj(
        {
            "workflows": {"type": "array", "items": {"$ref": "#/components/schemas/WorkflowDescription"}},
            "errors": {
                "type": "object",
                "description": "Stored files that cannot be served, by name (or by path when it cannot be a name); ComfyUI's"
                " own saved workflows by `user:<file>` (one with a # output that cannot be served, or a name clash)",
                # A file that vanishes while the list is read shows as not_found.
                "additionalProperties": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/" + name}
                        for name in ("WorkflowCorrupt", "NotFound", "NotAnEndpoint", "InvalidName", "NameClash")
                    ]
                },
            },
        },
        ["workflows", "errors"],
    )
    readiness = obj({"name": STR, **_READINESS_FIELDS}, ["name", "ready", "missing"])
    return {"WorkflowDescription": description, "WorkflowList": listing, "WorkflowReadiness": readiness}


def readiness_operation() -> dict[str, Any]:
    not_ready = {
        "description": "`unavailable`: this instance is not ready (as GET /api/connect/ready), or the workflow names what this "
        "ComfyUI lacks (`details`: name, ready, missing)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Unavailable"}}},
    }
    return {
        "operationId": "workflow_ready",
        "summary": "Can this workflow run on this box now? For load balancers: 200 ready, 503 not (what is missing)",
        "description": "Judged by ComfyUI's own node definitions: node classes installed, the files its loaders name in "
        "ComfyUI's folders (model lists follow files added or removed, no restart), its input files present. "
        "So a name's last part cannot be `ready` (other methods here are 405); a workflow stored under such a "
        "name before this route is described here instead.",
        "tags": ["manage"],
        "parameters": [NAME_PARAM],
        "responses": {
            "200": json_response("Ready", "WorkflowReadiness"),
            **errors((e.InvalidName, e.NotFound, e.WorkflowCorrupt)),
            "503": not_ready,
        },
    }
