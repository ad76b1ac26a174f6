"""The service operations: health, readiness, metrics, the browser login, and the documentation itself."""

from __future__ import annotations

from typing import Any

from ... import errors as e
from .responses import PREFIX, errors

DOCS_ASSETS = {
    "swagger-ui-bundle.js": ("text/javascript", "application/javascript"),
    "swagger-ui.css": ("text/css",),
    "favicon-32x32.png": ("image/png",),
}


def service_paths() -> dict[str, Any]:
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
        "properties": {
            "status": {"const": "ready"},
            "queue_depth": {"type": "integer"},
            "worker_alive": {"type": "boolean"},
            "endpoints": {
                "type": "object",
                "description": "Saved workflows that can run on this box and that cannot (.../workflows/{name}/ready says why)",
                "properties": {"ready": {"type": "integer"}, "not_ready": {"type": "integer"}},
            },
        },
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
                {"303": redirect, "401": {"description": "Key not valid (the form again)", "content": html}, **errors((e.BadRequest,))},
                requestBody={"required": False, "content": {"application/x-www-form-urlencoded": {"schema": form}}},
            ),
        },
        f"{PREFIX}/logout": {"post": op("logout", "Clear the session cookie", {"303": redirect})},
    }


def _inline(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def docs_page() -> dict[str, Any]:
    return {
        "operationId": "docs_page",
        "summary": "This documentation, as an interactive page (Swagger UI, served locally)",
        "tags": ["docs"],
        "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}, **errors(())},
    }


def docs_asset() -> dict[str, Any]:
    media_types = sorted({t for types in DOCS_ASSETS.values() for t in types})
    return {
        "operationId": "docs_asset",
        "summary": "A file of the documentation page",
        "tags": ["docs"],
        "parameters": [{"name": "asset", "in": "path", "required": True, "schema": {"type": "string", "enum": list(DOCS_ASSETS)}}],
        "responses": {
            "200": {"description": "The file", "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in media_types}},
            **errors((e.NotFound,)),
        },
    }


def openapi_json() -> dict[str, Any]:
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
            **errors(()),
        },
    }
