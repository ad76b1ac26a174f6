"""The OpenAPI 3.1 document: management routes plus one typed run operation per saved workflow.

Input schemas come from ComfyUI's own node definitions (the data behind /object_info), read when
the document is built, so combo lists (model files, samplers) are always the live ones, and each
input's `default` is the value saved in the workflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConnectError
from .nodespec import InputSpec, NodeSpec
from .store import NAME_RULE, SavedWorkflow
from .workflow import Endpoint, InputGroup

PREFIX = "/api/connect"
_UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload", "upload")
_ERROR_STATUSES = {
    "400": "Malformed JSON, unknown group or input, bad annotation, bad file or a bypass that cannot be rewired",
    "404": "No workflow with that name",
    "409": "The run was interrupted",
    "413": "A body or file over the size limit",
    "422": "ComfyUI rejected the patched prompt (names are the caller's: `sampler.steps`)",
    "500": "A node failed while running, or the stored workflow is corrupt",
    "504": "The run did not finish within the timeout and was cancelled",
}

SpecLookup = Callable[[str], "NodeSpec | None"]


def build_document(workflows: list[SavedWorkflow], specs: SpecLookup, broken: Mapping[str, ConnectError], version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {
        PREFIX: {"get": _docs_page()},
        f"{PREFIX}/openapi.json": {"get": _openapi_json()},
        f"{PREFIX}/workflows": {"get": _list_workflows()},
        f"{PREFIX}/workflows/{{name}}": _management_ops(None),
    }
    for saved in workflows:
        item = _management_ops(saved.name)
        item["post"] = _run_operation(saved, specs)
        paths[f"{PREFIX}/workflows/{saved.name}"] = item
    description = "Saved ComfyUI workflows served as HTTP endpoints. Run one with `POST /api/connect/workflows/<name>`."
    if broken:
        description += "\n\nWorkflows that cannot be served:\n" + "\n".join(f"- `{n}`: {e.message}" for n, e in sorted(broken.items()))
    return {
        "openapi": "3.1.0",
        "info": {"title": "ComfyUI-Connect", "version": version, "description": description},
        "paths": paths,
        "components": {"schemas": _shared_schemas(), "responses": _error_responses()},
    }


# -- per-workflow run operation -------------------------------------------------------------------
def _run_operation(saved: SavedWorkflow, specs: SpecLookup) -> dict[str, Any]:
    endpoint = saved.endpoint
    properties = {name: group_schema(endpoint, group, specs) for name, group in endpoint.groups.items()}
    example = {name: dict(group.inputs) for name, group in endpoint.groups.items() if group.inputs}
    body_schema = {"type": "object", "properties": properties, "additionalProperties": False}
    outputs = {name: {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}} for name in endpoint.outputs}
    return {
        "operationId": "run_" + re.sub(r"[^A-Za-z0-9_]", "_", saved.name),
        "summary": f"Run workflow {saved.name}",
        "tags": ["workflows"],
        "requestBody": {"required": False, "content": {"application/json": {"schema": body_schema, "example": example}}},
        "responses": {
            "200": {
                "description": "Every `#` output, as base64 files in batch order",
                "headers": {
                    "X-Connect-Prompt-Id": {"schema": {"type": "string"}, "description": "ComfyUI's prompt id of this run"},
                    "Server-Timing": {
                        "schema": {"type": "string"},
                        "description": "milliseconds spent by the plugin itself (connect) and waiting for ComfyUI (comfyui)",
                    },
                },
                "content": {"application/json": {"schema": {"type": "object", "properties": outputs, "required": list(outputs)}}},
            },
            **{status: ref(int(status)) for status in _ERROR_STATUSES},
        },
    }


def group_schema(endpoint: Endpoint, group: InputGroup, specs: SpecLookup) -> dict[str, Any]:
    bypass = {"const": False, "description": "Bypass this node for this call"}
    if not group.inputs:
        return bypass
    properties = {}
    for input_name, saved in group.inputs.items():
        node = endpoint.prompt[group.targets[input_name][0]]
        spec = specs(node["class_type"])
        declared = spec.input(input_name) if spec else None
        properties[input_name] = input_schema(declared, saved)
    inputs = {"type": "object", "properties": properties, "additionalProperties": False}
    return {"oneOf": [inputs, bypass]}


def input_schema(spec: InputSpec | None, saved: Any) -> dict[str, Any]:
    schema = _typed(spec, saved)
    schema["default"] = saved
    tooltip = spec.options.get("tooltip") if spec else None
    if isinstance(tooltip, str):
        schema["description"] = tooltip
    if spec and any(spec.options.get(flag) for flag in _UPLOAD_FLAGS):
        return {"anyOf": [schema, {"$ref": "#/components/schemas/FileInput"}], "default": saved}
    return schema


def _typed(spec: InputSpec | None, saved: Any) -> dict[str, Any]:
    kind = spec.type if spec else _json_kind(saved)
    if kind == "COMBO" and spec is not None and spec.choices is not None:
        return {"enum": list(spec.choices)}
    if kind == "INT":
        return {"type": "integer", **_bounds(spec)}
    if kind == "FLOAT":
        return {"type": "number", **_bounds(spec)}
    if kind == "BOOLEAN":
        return {"type": "boolean"}
    if kind == "STRING":
        multiline = bool(spec and spec.options.get("multiline"))
        return {"type": "string", **({"x-multiline": True} if multiline else {})}
    return {}


def _bounds(spec: InputSpec | None) -> dict[str, Any]:
    if spec is None:
        return {}
    out = {}
    for key, name in (("min", "minimum"), ("max", "maximum")):
        value = spec.options.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = value
    return out


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INT"
    if isinstance(value, float):
        return "FLOAT"
    return "STRING" if isinstance(value, str) else ""


# -- management routes ---------------------------------------------------------------------------
def _management_ops(name: str | None) -> dict[str, Any]:
    params = [] if name else [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "pattern": f"^{NAME_RULE}$"}}]
    suffix = "" if name is None else "_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
    return {
        "get": {
            "operationId": "describe_workflow" + suffix,
            "summary": "Describe a workflow: inputs with saved values, outputs, bypassable groups, cached nodes",
            "tags": ["manage"],
            "parameters": params,
            "responses": {"200": _json_response("The workflow", "WorkflowDescription"), "400": ref(400), "404": ref(404), "500": ref(500)},
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
                "400": ref(400),
                "413": ref(413),
            },
        },
        "delete": {
            "operationId": "delete_workflow" + suffix,
            "summary": "Delete a workflow",
            "tags": ["manage"],
            "parameters": params,
            "responses": {"204": {"description": "Deleted"}, "400": ref(400), "404": ref(404)},
        },
    }


def ref(status: int) -> dict[str, str]:
    return {"$ref": f"#/components/responses/E{status}"}


def _list_workflows() -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "workflows": {"type": "array", "items": {"$ref": "#/components/schemas/WorkflowDescription"}},
            "errors": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Error"}},
        },
        "required": ["workflows", "errors"],
    }
    return {
        "operationId": "list_workflows",
        "summary": "List saved workflows (and the stored files that cannot be served)",
        "tags": ["manage"],
        "responses": {"200": {"description": "Saved workflows", "content": {"application/json": {"schema": schema}}}},
    }


def _docs_page() -> dict[str, Any]:
    return {
        "operationId": "docs_page",
        "summary": "This documentation, as an interactive page",
        "tags": ["docs"],
        "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
    }


def _openapi_json() -> dict[str, Any]:
    return {
        "operationId": "openapi_document",
        "summary": "This OpenAPI document",
        "tags": ["docs"],
        "responses": {
            "200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}},
            "304": {"description": "Not modified (If-None-Match matched the ETag)"},
        },
    }


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _error_responses() -> dict[str, Any]:
    return {f"E{status}": _json_response(text, "Error") for status, text in _ERROR_STATUSES.items()}


def _shared_schemas() -> dict[str, Any]:
    return {
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {"type": {"type": "string"}, "message": {"type": "string"}, "details": {}},
                    "required": ["type", "message", "details"],
                }
            },
            "required": ["error"],
        },
        "FileInput": {
            "type": "object",
            "description": "A file sent with the call: base64 `content` (a data: URI prefix is allowed) or a `url` to fetch",
            "properties": {
                "type": {"const": "file"},
                "content": {"type": "string", "contentEncoding": "base64"},
                "url": {"type": "string", "format": "uri"},
                "name": {"type": "string", "description": "Original file name; only its extension is used"},
            },
            "required": ["type"],
            "oneOf": [{"required": ["content"]}, {"required": ["url"]}],
        },
        "SaveRequest": {
            "type": "object",
            "properties": {
                "prompt": {
                    "type": "object",
                    "description": "API-format prompt (app.graphToPrompt().output)",
                    "additionalProperties": {"type": "object"},
                },
                "workflow": {"description": "UI-format workflow, kept for reference"},
            },
            "required": ["prompt"],
        },
        "WorkflowDescription": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "saved_at": {"type": "string"},
                "inputs": {"type": "object", "additionalProperties": {"type": "object"}},
                "outputs": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                "bypassable": {"type": "array", "items": {"type": "string"}},
                "bypassed": {"type": "array", "items": {"type": "string"}},
                "cached": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["name", "inputs", "outputs", "bypassable", "bypassed", "cached"],
        },
    }
