"""HTTP handlers, registered as ``/connect/...`` (ComfyUI also serves each at ``/api/connect/...``).

Handlers raise ``ConnectError``; the errors middleware (middleware/errors.py) answers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..contract.openapi import DOCS_ASSETS, operation_suffixes
from ..contract.pathguard import check_prompt_paths
from ..errors import BadRequest, ConnectError, InvalidJSON, InvalidName, NotFound
from ..ops.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ..workflow.endpoint import parse_endpoint
from ..workflow.store import Metadata, SavedWorkflow, check_metadata, check_timeout
from .dashboard import dashboard_page
from .jobs import cancel_job, get_job, job_events, list_jobs, run_job
from .jsonbody import parse_json, unreadable
from .keys import KEY, STARTED
from .login import login_page, login_submit, logout
from .middleware.errors import http_error
from .multipart import run_body
from .ready import endpoint_counts, endpoint_ready, with_readiness
from .state import Connect, state
from .versions import changes_against, guard, list_versions, pinned, restore_version, version_query

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A workflow name in a path: any text (the store judges it) but one with a part `versions` after its
# first, so <name>/versions and <name>/versions/<id>/restore belong to the versions routes alone and
# answer 405 with only their own methods (http/versions.py).
WORKFLOW_PATH = "/connect/workflows/{name:(?!.+/versions(?:/|$)).+}"
# Every handler is given the plugin's state, read from the app's typed key (state.py).
StateHandler = Callable[[web.Request, Connect], Awaitable[web.StreamResponse]]
_DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ComfyUI-Connect API</title>
<link rel="icon" href="connect/docs/favicon-32x32.png"><link rel="stylesheet" href="connect/docs/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="connect/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "connect/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  tryItOutEnabled: true, displayRequestDuration: true});</script>
</body></html>"""
# A workflow's readiness; so the last part of a name cannot be "ready" (see _ready_or_describe).
_READY_ROUTE = "/connect/workflows/{name:.+}/ready"


def register(routes: web.RouteTableDef) -> list[tuple[str, str]]:
    """Add every route; returns (method, path) pairs so tests can check the document covers them."""
    table: list[tuple[str, str, StateHandler]] = [
        ("GET", "/connect", lambda r, c: _docs_page(r)),
        ("GET", "/connect/openapi.json", _openapi),
        ("GET", "/connect/docs/{asset}", _docs_asset),
        ("GET", "/connect/workflows", _list),
        ("GET", _READY_ROUTE, _ready_or_describe),  # before describe: `{name:.+}` would take it
        # Before the plain workflow routes, whose {name:.+} would take these paths too (versions.py).
        ("GET", "/connect/workflows/{name:.+}/versions", list_versions),
        ("POST", "/connect/workflows/{name:.+}/versions/{version}/restore", _restore),
        ("GET", "/connect/workflows/{name:.+}", _describe),
        ("PUT", "/connect/workflows/{name:.+}", _save),
        ("DELETE", "/connect/workflows/{name:.+}", _delete),
        ("POST", "/connect/convert", _convert),
        ("POST", "/connect/workflows/{name:.+}", _run),
        # Jobs (jobs.py): every run is one.
        ("GET", "/connect/jobs", list_jobs),
        ("GET", "/connect/jobs/{job_id}", get_job),
        ("DELETE", "/connect/jobs/{job_id}", cancel_job),
        ("GET", "/connect/jobs/{job_id}/events", job_events),
        ("GET", "/connect/files/{token}/{name}", lambda r, c: c.delivery.download(r)),
        ("GET", "/connect/health", _health),
        ("GET", "/connect/ready", _ready),
        ("GET", "/connect/metrics", _metrics),
        ("GET", "/connect/cluster", _cluster),
        ("GET", "/connect/cluster/dashboard", lambda r, c: dashboard_page(r)),
        ("GET", "/connect/login", lambda r, c: login_page(r)),
        ("POST", "/connect/login", lambda r, c: login_submit(r, c.gate.keys)),
        ("POST", "/connect/logout", lambda r, c: logout(r)),
    ]
    for method, path, handler in table:
        routes.route(method, WORKFLOW_PATH if path == "/connect/workflows/{name:.+}" else path)(with_state(handler))
        if path == _READY_ROUTE:  # GET only: other methods are 405 here, not the routes of `{name:.+}` below
            routes.route("*", path)(_get_only)
    return [(method, path) for method, path, _ in table]


async def _get_only(request: web.Request) -> web.StreamResponse:
    error = http_error(405, f"{request.method} is not allowed here: a workflow's readiness is read with GET")
    error.headers["Allow"] = "GET"  # this resource's own method, not those of the workflow routes the path also matches
    raise error


def with_state(handler: StateHandler) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await handler(request, state(request))

    return handle


async def _read_json(request: web.Request, *, empty: Any = None) -> Any:
    with unreadable("the request body"):  # e.g. a Content-Encoding it is not in
        raw = await request.read()
    if not raw.strip():
        if empty is not None:
            return empty
        raise InvalidJSON("the request body is empty; a JSON object was expected")
    return parse_json(raw, "the request body")


# -- docs ------------------------------------------------------------------------------------------
async def _docs_page(request: web.Request) -> web.StreamResponse:
    return web.Response(text=_DOCS_HTML, content_type="text/html")


async def _docs_asset(request: web.Request, connect: Connect) -> web.StreamResponse:
    asset = request.match_info["asset"]
    if asset not in DOCS_ASSETS:
        raise NotFound(f"no documentation asset {asset!r}")
    return web.FileResponse(connect.docs_assets / asset, headers={"Cache-Control": "public, max-age=86400"})


async def _openapi(request: web.Request, connect: Connect) -> web.StreamResponse:
    body = json.dumps(connect.openapi_document(KEY.get(request))).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


# -- management ------------------------------------------------------------------------------------
def describe(saved: SavedWorkflow, metadata: str = "none") -> dict[str, Any]:
    """`metadata`: the server's CONNECT_METADATA, what outputs embed when the workflow does not say."""
    endpoint = saved.endpoint
    return {
        "name": saved.name,
        "saved_at": saved.saved_at,
        "timeout": saved.timeout,
        "metadata": saved.metadata,
        "embeds": saved.metadata or metadata,
        "source": saved.source,  # api (saved through the API or UI menu), folder (a plain file), user (ComfyUI's own)
        "file": saved.file or None,
        "version": saved.version,
        "inputs": {name: {"nodes": list(g.node_ids), "inputs": dict(g.inputs)} for name, g in endpoint.groups.items()},
        "outputs": {name: list(ids) for name, ids in endpoint.outputs.items()},
        "bypassable": list(endpoint.groups),
        "bypassed": list(endpoint.bypassed),
        "cached": list(endpoint.cached),
    }


def _visible(request: web.Request, connect: Connect) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
    return connect.visible(KEY.get(request))


def _with_operation_ids(described: list[dict[str, Any]], good: list[SavedWorkflow]) -> list[dict[str, Any]]:
    """Adds each workflow's run `operation_id` as the OpenAPI document numbers it (over the same workflows)."""
    ids = operation_suffixes({*(w.name for w in good), *(d["name"] for d in described)})
    return [{**d, "operation_id": "run" + ids[d["name"]]} for d in described]


async def _list(request: web.Request, connect: Connect) -> web.StreamResponse:
    good, bad = await asyncio.to_thread(_visible, request, connect)
    described = await asyncio.to_thread(lambda: [with_readiness(describe(s, connect.settings.metadata), s, connect) for s in good])
    workflows = _with_operation_ids(described, good)
    broken = {n: e.body() for n, e in bad.items()}  # saved files that no longer load: listed, not an error answer
    return web.json_response({"workflows": workflows, "errors": broken})


async def _describe(request: web.Request, connect: Connect, name: str | None = None) -> web.StreamResponse:
    saved = await _load(connect, name or request.match_info["name"])
    ref = version_query(request)
    if ref is not None:
        saved = await asyncio.to_thread(pinned, connect, saved, ref)
    described = await asyncio.to_thread(with_readiness, describe(saved, connect.settings.metadata), saved, connect)
    good, _ = await asyncio.to_thread(_visible, request, connect)
    return web.json_response(_with_operation_ids([described], good)[0])


async def _load(connect: Connect, name: str) -> SavedWorkflow:
    """From the store's cache on the loop; reading a changed file (and converting a UI one) in a thread."""
    cached = connect.store.peek(name)
    return cached if cached is not None else await asyncio.to_thread(connect.store.load, name)


async def _ready_or_describe(request: web.Request, connect: Connect) -> web.StreamResponse:
    """Readiness of `<name>`; but a saved workflow named `<name>/ready` is still described, as before this route."""
    whole = request.match_info["name"] + "/ready"
    key = KEY.get(request)  # the access check judged `<name>`; that workflow is another
    if key is not None and not key.sees(whole):
        return await endpoint_ready(request, connect)
    try:
        await _load(connect, whole)
    except (NotFound, InvalidName):
        return await endpoint_ready(request, connect)
    except ConnectError:
        pass  # stored but unreadable: described as such
    return await _describe(request, connect, whole)


async def _save(request: web.Request, connect: Connect) -> web.StreamResponse:
    name = request.match_info["name"]
    connect.store.check(name)  # reject a bad name before reading the body
    body = await _read_json(request)
    if not isinstance(body, dict) or ("prompt" not in body and "workflow" not in body):
        raise BadRequest("the body must be an object with a 'workflow' (UI format), a 'prompt' (API format), or both")
    # Without a prompt, the server makes it from the UI format as ComfyUI's frontend would.
    prompt = body["prompt"] if "prompt" in body else await asyncio.to_thread(connect.convert, body["workflow"])
    check_prompt_paths(prompt, connect.preparer.spec)
    timeout = _saved_timeout(body, connect, name)
    metadata = _saved_metadata(body, connect, name)
    changes, _ = await asyncio.to_thread(changes_against, connect, name, parse_endpoint(prompt))
    guard(request, connect, name, changes)  # CONNECT_REFUSE_BREAKING
    saved, created = await asyncio.to_thread(connect.store.save, name, prompt, body.get("workflow"), timeout, metadata)
    connect.workflows_changed()
    good, _ = await asyncio.to_thread(_visible, request, connect)
    # Saved even when this box lacks a class or file it names (it may be meant for another): `ready` says so.
    described = {**describe(saved, connect.settings.metadata), "changes": changes.as_dict()}
    described = await asyncio.to_thread(with_readiness, described, saved, connect)
    return web.json_response(_with_operation_ids([described], good)[0], status=201 if created else 200)


def _saved_timeout(body: dict[str, Any], connect: Connect, name: str) -> float | None:
    """The body's `timeout`; without one, the one saved before (ComfyUI's UI saves only prompt and workflow)."""
    if "timeout" not in body:
        with contextlib.suppress(ConnectError):
            return connect.store.load(name).timeout
        return None
    try:
        return check_timeout(body["timeout"])
    except ValueError as exc:
        raise BadRequest(str(exc), {"path": "timeout"}) from None


def _saved_metadata(body: dict[str, Any], connect: Connect, name: str) -> Metadata | None:
    """The body's `metadata`; without one, the one saved before (like `timeout`)."""
    if "metadata" not in body:
        with contextlib.suppress(ConnectError):
            return connect.store.load(name).metadata
        return None
    try:
        return check_metadata(body["metadata"])
    except ValueError as exc:
        raise BadRequest(str(exc), {"path": "metadata"}) from None


async def _convert(request: web.Request, connect: Connect) -> web.StreamResponse:
    """A UI-format workflow (what Ctrl+S saves) -> the API-format prompt the frontend would queue."""
    body = await _read_json(request)
    if isinstance(body, dict) and "nodes" not in body and "workflow" in body:
        body = body["workflow"]  # also taken wrapped, as PUT takes it
    prompt = await asyncio.to_thread(connect.convert, body)
    return web.json_response({"prompt": prompt})


async def _restore(request: web.Request, connect: Connect) -> web.StreamResponse:
    async def described(saved: SavedWorkflow) -> dict[str, Any]:
        good, _ = await asyncio.to_thread(_visible, request, connect)
        shown = await asyncio.to_thread(with_readiness, describe(saved, connect.settings.metadata), saved, connect)
        return _with_operation_ids([shown], good)[0]

    return await restore_version(request, connect, described)


async def _delete(request: web.Request, connect: Connect) -> web.StreamResponse:
    await asyncio.to_thread(connect.store.delete, request.match_info["name"])
    connect.workflows_changed()
    return web.Response(status=204)


# -- health and metrics ----------------------------------------------------------------------------
async def _health(request: web.Request, connect: Connect) -> web.StreamResponse:
    return web.json_response(connect.probe.health(time.monotonic()))


async def _ready(request: web.Request, connect: Connect) -> web.StreamResponse:
    answer = connect.probe.ready(connect.gate.admission.retry_after)
    answer["endpoints"] = await asyncio.to_thread(endpoint_counts, connect)
    return web.json_response(answer)


async def _cluster(request: web.Request, connect: Connect) -> web.StreamResponse:
    if connect.overview is not None:
        return web.json_response(await connect.overview.listing())
    if connect.cluster is None:
        return web.json_response({"enabled": False, "instances": []})
    return web.json_response({"enabled": True, **await connect.cluster.listing()})


async def _metrics(request: web.Request, connect: Connect) -> web.StreamResponse:
    instance, signals = await connect.overview.gauges() if connect.overview is not None else (None, [])
    return web.Response(body=connect.metrics_text(instance, signals).encode(), headers={"Content-Type": METRICS_CONTENT_TYPE})


# -- run -------------------------------------------------------------------------------------------
async def _run(request: web.Request, connect: Connect) -> web.StreamResponse:
    started = STARTED.get(request) or time.perf_counter()  # the plugin's share starts at its gate
    saved = await _load(connect, request.match_info["name"])
    ref = version_query(request)
    if ref is not None:  # a pinned version runs its own prompt, checked against its own contract
        saved = await asyncio.to_thread(pinned, connect, saved, ref)
    choice = connect.delivery.choose(request)  # a bad ?output= or an impossible raw delivery fails before running
    connect.delivery.check_possible(choice, saved.endpoint.outputs)
    limits = connect.settings.max_file_bytes, connect.settings.max_body_bytes
    async with run_body(request, connect.files, *limits, lambda: _read_json(request, empty={})) as body:  # JSON or multipart
        return await run_job(request, connect, saved, body.payload, started, choice=choice, parts=body.parts)
