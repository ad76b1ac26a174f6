"""The versions of a workflow (README "Versions"): list, restore, the `version` query parameter, `changes`."""

from __future__ import annotations

from typing import Any

from ... import errors as e
from .manage import NAME_PARAM
from .responses import PREFIX, STR, STR_OR_NULL, errors, json_response, obj

VERSION_QUERY = {
    "name": "version",
    "in": "query",
    "required": False,
    "description": "A version of the workflow (its id or a prefix of 4+ hex digits, from GET .../versions): that version's "
    "prompt and contract are used instead of the current ones (a body is checked against the version's inputs, not the schema shown "
    "here). Unknown: 404; a prefix several versions share: 400 `ambiguous_version` listing them",
    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{4,64}$"},
}
FORCE_QUERY = {
    "name": "force",
    "in": "query",
    "required": False,
    "description": "Save even when the change breaks the endpoint's contract and CONNECT_REFUSE_BREAKING is on",
    "schema": {"type": "boolean"},
}
_VERSION_PATH = {
    "name": "version",
    "in": "path",
    "required": True,
    "description": "The version's id or a prefix of 4+ hex digits",
    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{4,64}$"},
}
VERSION_ERRORS = (e.AmbiguousVersion, e.BadRequest)
SAVE_ERRORS = (e.BreakingChange,)
_CHANGE = obj(
    {
        "path": {**STR, "description": "`group.input`, `group`, or `#output`"},
        "kind": {"enum": ["removed", "added", "renamed", "type", "enum", "minimum", "maximum", "step", "file", "default"]},
        "breaking": {"type": "boolean"},
        "text": STR,
    },
    ["path", "kind", "breaking", "text"],
)
CHANGES = obj(
    {
        "breaking": {"type": "array", "items": STR, "description": "What may make a call that worked fail, e.g. `sampler.steps removed`"},
        "compatible": {"type": "array", "items": STR, "description": "Additions, widenings and changed saved values"},
        "items": {"type": "array", "items": _CHANGE},
    },
    ["breaking", "compatible", "items"],
)
_VERSION = obj(
    {
        "version": {**STR, "description": "sha256 of the canonical prompt"},
        "short": {**STR, "description": "its first 12 hex digits"},
        "saved_at": {"type": "string", "format": "date-time"},
        "source": {
            "enum": ["ui", "api", "folder"],
            "description": "ui: saved with a UI workflow; api: a prompt alone; folder: found on disk",
        },
        "current": {"type": "boolean"},
        "timeout": {"type": ["number", "null"]},
        "metadata": STR_OR_NULL,
        "has_workflow": {"type": "boolean"},
    },
    ["version", "short", "saved_at", "source", "current"],
)
VERSION_SCHEMAS: dict[str, Any] = {
    "Changes": {**CHANGES, "description": "What a save changes for callers, against the version it replaced"},
    "VersionList": obj(
        {"name": STR, "current": STR_OR_NULL, "versions": {"type": "array", "items": _VERSION, "description": "Newest first"}},
        ["name", "current", "versions"],
    ),
}


def version_paths() -> dict[str, Any]:
    listing = {
        "operationId": "list_versions",
        "summary": "The kept versions of a workflow, newest first, the current one marked (kept after a delete too)",
        "tags": ["manage"],
        "parameters": [NAME_PARAM],
        "responses": {"200": json_response("Versions", "VersionList"), **errors((e.InvalidName, e.NotFound))},
    }
    restore = {
        "operationId": "restore_version",
        "summary": "Make a kept version the current one again (a save: the answer says what it changes)",
        "tags": ["manage"],
        "parameters": [NAME_PARAM, _VERSION_PATH, FORCE_QUERY],
        "responses": {
            "200": json_response("Restored", "WorkflowDescription"),
            "201": json_response("Restored after a delete", "WorkflowDescription"),
            **errors((e.InvalidName, e.BadRequest, e.NotFound, e.AmbiguousVersion, e.BreakingChange, e.WorkflowCorrupt)),
        },
    }
    return {
        f"{PREFIX}/workflows/{{name}}/versions": {"get": listing},
        f"{PREFIX}/workflows/{{name}}/versions/{{version}}/restore": {"post": restore},
    }


def versioned(item: dict[str, Any]) -> dict[str, Any]:
    """A workflow's operations with what versions add: `?version=` on describe and run, `?force=` and 409 on save."""
    item = dict(item)
    for method in ("get", "post"):
        operation = item[method]
        responses = {**operation["responses"], **_merged(operation["responses"], VERSION_ERRORS)}
        item[method] = {**operation, "parameters": [*operation.get("parameters", []), VERSION_QUERY], "responses": responses}
    save = item["put"]
    item["put"] = {
        **save,
        "parameters": [*save.get("parameters", []), FORCE_QUERY],
        "responses": {**save["responses"], **_merged(save["responses"], SAVE_ERRORS)},
    }
    return item


def _merged(responses: dict[str, Any], extra: tuple[type[e.ConnectError], ...]) -> dict[str, Any]:
    """`extra`'s responses, each merged with an existing one of its status (a status lists every error type it may carry)."""
    merged = {}
    for status, response in errors(extra).items():
        if status == "500":
            continue
        old = responses.get(status)
        if old is None:
            merged[status] = response
            continue
        refs = _refs(old)
        refs += [ref for ref in _refs(response) if ref not in refs]  # a type listed twice would match `oneOf` twice
        schema = {"oneOf": refs} if len(refs) > 1 else refs[0]
        merged[status] = {
            "description": f"{old['description']}; {response['description']}",
            "content": {"application/json": {"schema": schema}},
        }
    return merged


def _refs(response: dict[str, Any]) -> list[dict[str, Any]]:
    schema = response["content"]["application/json"]["schema"]
    return list(schema.get("oneOf", [schema]))
