"""The gate: one aiohttp middleware in front of every ComfyUI route (installed at setup).

For the plugin's own routes (``/connect/...`` and ``/api/connect/...``), in this order:
CORS preflight, API key (401 without a valid one, 403 when the key may not do this), body size
(413), run admission (429 per client, 503 overall; the slot is in ``request[SLOT]`` for a job that
outlives the request), a watch that cancels the run handler when its client disconnects (the handler
then cancels the job unless told not to), JSON error bodies for every status (also aiohttp's own 404/405), metrics.
For ComfyUI's routes, only with ``CONNECT_PROTECT_ALL=1``: an admin key, from the
``Authorization`` header or the login cookie; a browser asking for a page is sent to the login form.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ..errors import ConnectError, Forbidden, PayloadTooLarge, Unauthorized, Unavailable, error_body
from ..ops.metrics import Metrics
from ..run.limits import Admission
from .auth import ApiKey, KeyRing

log = logging.getLogger("comfyui-connect")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY = "connect.key"  # request[KEY]: the ApiKey of the caller, or None when no keys are configured
SLOT = "connect.slot"  # request[SLOT]: the admission Slot of a run request
STARTED = "connect.started"  # request[STARTED]: perf_counter() when the gate saw it (Server-Timing counts from here)
COOKIE = "connect_session"
_REALM = 'Bearer realm="ComfyUI-Connect"'
_PUBLIC = ("/connect/health", "/connect/ready", "/connect/login", "/connect/logout")
# Download links (?output=url) carry an unguessable token: the link is the permission, like a presigned URL.
_PUBLIC_PREFIXES = ("/connect/docs/", "/connect/files/")
_RUN_ROUTE = "/connect/workflows/{name}"
_WATCH_SECONDS = 0.25
_HTTP_ERROR_TYPES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
_EXPOSED_HEADERS = (
    "X-Connect-Prompt-Id, X-Connect-Job-Id, X-Connect-Output, Content-Disposition, Location, Retry-After, ETag, "
    "WWW-Authenticate, Preference-Applied, Server-Timing"
)
CLIENT_CLOSED = 499  # nginx's code for "the client closed the connection before the answer"


@dataclass(frozen=True)
class Cors:
    origins: frozenset[str]

    @classmethod
    def parse(cls, setting: str) -> Cors:
        return cls(frozenset(o.strip().rstrip("/") for o in setting.split(",") if o.strip()))

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def allows(self, origin: str | None) -> bool:
        return origin is not None and ("*" in self.origins or origin.rstrip("/") in self.origins)


@dataclass
class Gate:
    keys: KeyRing
    protect_all: bool
    cors: Cors
    max_body: int
    admission: Admission
    metrics: Metrics
    worker_alive: Callable[[], bool]

    def middleware(self) -> Any:
        @web.middleware
        async def connect_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            path = plugin_path(request.path)
            if path is not None:
                return await self._plugin(request, handler, path)
            if self.protect_all:
                return await self._comfy(request, handler)
            return await handler(request)

        return connect_gate

    # -- the plugin's routes ------------------------------------------------------------------
    async def _plugin(self, request: web.Request, handler: Handler, path: str) -> web.StreamResponse:
        started = request[STARTED] = time.perf_counter()  # request.clone() in _handle keeps it
        origin = request.headers.get("Origin")
        cors_ok = self.cors.allows(origin)
        if self.cors.enabled and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response: web.StreamResponse = self._preflight(cors_ok)
        else:
            try:
                response = await self._handle(request, handler, path, cors_ok)
            except Unauthorized as exc:
                response = _to_login(request) if wants_page(request) else error_response(exc)
            except ConnectError as exc:
                response = error_response(exc)
            except web.HTTPException as exc:  # aiohttp's own 404/405/413 for these paths
                if exc.status < 400:
                    raise
                response = _json_error(exc.status, exc.text or exc.reason)
                if exc.status == 405:  # RFC 9110: a 405 lists the methods the resource has
                    response.headers["Allow"] = ",".join(sorted(await _plugin_methods(request))) or exc.headers.get("Allow", "")
            if response.status >= 400 and response.content_type != "application/json" and path not in _PUBLIC:
                # e.g. ComfyUI's origin check answers a bare 403: callers of the API get the one error shape.
                text = response.text if isinstance(response, web.Response) else None
                response = _json_error(response.status, text or response.reason)
        if cors_ok:
            response.headers["Access-Control-Allow-Origin"] = str(origin)
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
        if self.cors.enabled:
            response.headers.add("Vary", "Origin")
        self.metrics.request(route_label(request), request.method, response.status, time.perf_counter() - started, error_type(response))
        return response

    async def _handle(self, request: web.Request, handler: Handler, path: str, cors_ok: bool) -> web.StreamResponse:
        key = self._authorize(request, path)
        if request.content_length is not None and request.content_length > self.max_body:
            raise PayloadTooLarge(
                f"the request body is {request.content_length} bytes, over the {self.max_body} byte limit (CONNECT_MAX_BODY_BYTES)",
                {"limit": self.max_body},
            )
        if route_label(request) == "unmatched":
            # The plugin owns /connect/*: an unknown path there is answered here, never by ComfyUI's static files
            # (which match any path for GET: a GET of a POST-only route is a 405, not a missing file).
            methods = await _plugin_methods(request)
            if methods:
                raise web.HTTPMethodNotAllowed(request.method, methods)
            raise getattr(request.match_info, "http_exception", None) or web.HTTPNotFound()
        request[KEY] = key
        # ComfyUI's own origin check refuses cross-origin calls to a loopback host; an origin the
        # operator allowed for these routes is taken off before it looks.
        headers = request.headers.copy()
        if cors_ok:
            headers.popall("Origin", None)
        request = request.clone(client_max_size=self.max_body, headers=headers)
        if request.method != "POST" or route_label(request) != _RUN_ROUTE:
            return await handler(request)
        if not self.worker_alive():
            raise Unavailable("ComfyUI's prompt worker thread has stopped, so nothing can run; restart ComfyUI")
        with self.admission.slot(key.id if key else str(request.remote)) as slot:
            request[SLOT] = slot
            return await _cancel_on_disconnect(request, handler)

    def _preflight(self, allowed: bool) -> web.StreamResponse:
        if not allowed:
            return web.json_response(error_body("forbidden", "this origin may not call the API (CONNECT_CORS_ORIGINS)"), status=403)
        headers = {
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, If-None-Match, Idempotency-Key, Prefer, Last-Event-ID",
            "Access-Control-Max-Age": "600",
        }
        return web.Response(status=204, headers=headers)

    def _authorize(self, request: web.Request, path: str) -> ApiKey | None:
        if not self.keys.enabled or path in _PUBLIC or path.startswith(_PUBLIC_PREFIXES):
            return None
        key = self.authenticate(request)
        level, workflow = required_access(request.method, path, request.match_info.get("name"))
        if not key.permits(level, workflow):
            what = f"workflow {workflow!r}" if workflow is not None and key.level in ("run", "manage") else "this route"
            raise Forbidden(
                f"this API key ({key.level}) may not {_VERBS[level]} {what}",
                {"key": key.id, "access": key.level, "required": level, "workflow": workflow},
            )
        return key

    def authenticate(self, request: web.Request) -> ApiKey:
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, secret = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise _unauthorized("send the API key as 'Authorization: Bearer <key>'", "invalid_request")
            key = self.keys.match(secret.strip())
            if key is None:
                raise _unauthorized("the API key is not valid", "invalid_token")
            return key
        cookie = request.cookies.get(COOKIE)
        if cookie:
            key = self.keys.match_session(cookie)
            if key is None:
                raise _unauthorized("the login cookie is no longer valid; log in again at /connect/login", "invalid_token")
            return key
        raise _unauthorized("an API key is required: send 'Authorization: Bearer <key>'", None)

    # -- ComfyUI's routes (CONNECT_PROTECT_ALL) -------------------------------------------------
    async def _comfy(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            key = self.authenticate(request)
        except Unauthorized as exc:
            return _to_login(request) if wants_page(request) else error_response(exc)
        if not key.permits("admin"):
            return error_response(Forbidden("ComfyUI's own routes need an admin API key", {"key": key.id, "access": key.level}))
        return await handler(request)


_VERBS = {"run": "use", "manage": "change", "admin": "use"}


def lockdown(reason: str) -> Any:
    """Installed instead of the gate when the access settings are broken: fail closed, say why."""
    body = error_body("unavailable", f"ComfyUI-Connect refuses every request until its configuration is fixed: {reason}")

    @web.middleware
    async def connect_lockdown(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.json_response(body, status=503)

    return connect_lockdown


def plugin_path(path: str) -> str | None:
    """'/api/connect/x' and '/connect/x' -> '/connect/x'; other paths -> None."""
    if path.startswith("/api/connect"):
        path = path[4:]
    return path if path == "/connect" or path.startswith("/connect/") else None


def required_access(method: str, path: str, workflow: str | None) -> tuple[str, str | None]:
    if path == "/connect/metrics":
        return "admin", None
    if path.startswith("/connect/workflows/") and workflow is not None:
        return ("manage" if method in ("PUT", "DELETE") else "run"), workflow
    return "run", None


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else ""
    label = plugin_path(canonical)
    return label if label is not None else "unmatched"


def error_type(response: web.StreamResponse) -> str | None:
    if response.status < 400:
        return None
    if response.status == CLIENT_CLOSED:
        return "client_disconnected"
    body = getattr(response, "body", None)
    try:
        return str(json.loads(body)["error"]["type"]) if isinstance(body, bytes) else "http_error"
    except (ValueError, KeyError, TypeError):
        return "http_error"


def wants_page(request: web.Request) -> bool:
    """A browser navigating (not a script): send it to the login form rather than a JSON 401."""
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "") and "Upgrade" not in request.headers


def _to_login(request: web.Request) -> web.Response:
    location = "/connect/login?next=" + quote(request.path_qs, safe="")
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


async def _plugin_methods(request: web.Request) -> set[str]:
    """The methods of the plugin's own routes at this path (ComfyUI's static root also matches it, for GET)."""
    methods: set[str] = set()
    for resource in request.app.router.resources():
        if plugin_path(resource.canonical) is not None:
            _, allowed = await resource.resolve(request)
            methods |= allowed
    return methods


def _json_error(status: int, message: str | None) -> web.Response:
    return web.json_response(error_body(_HTTP_ERROR_TYPES.get(status, "http_error"), message or f"HTTP {status}"), status=status)


def error_response(exc: ConnectError) -> web.Response:
    return web.json_response(exc.body(), status=exc.status, headers=exc.headers)


def _unauthorized(message: str, code: str | None) -> Unauthorized:
    challenge = _REALM + (f', error="{code}"' if code else "")
    return Unauthorized(message, None, {"WWW-Authenticate": challenge})


async def _cancel_on_disconnect(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run the handler; if the client goes away first, cancel it (the executor cancels the prompt).

    A timer looks at the connection now and then, rather than a second task per call and a wait on it:
    the run call is the hot path, and that task cost an extra trip through the event loop."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    left = False
    timer: asyncio.TimerHandle | None = None

    def watch() -> None:
        nonlocal left, timer
        transport = request.transport
        if transport is None or transport.is_closing():
            log.info("ComfyUI-Connect: client left during %s %s; cancelling the run", request.method, request.path)
            left = True
            task.cancel()
        else:
            timer = loop.call_later(_WATCH_SECONDS, watch)

    timer = loop.call_later(_WATCH_SECONDS, watch)
    try:
        return await handler(request)
    except asyncio.CancelledError:
        if not left:  # the server stops, or aiohttp cancelled the handler itself
            raise
        if sys.version_info >= (3, 11):
            task.uncancel()
        return web.Response(status=CLIENT_CLOSED)
    finally:
        if timer is not None:
            timer.cancel()
