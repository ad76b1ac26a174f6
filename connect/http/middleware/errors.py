"""The one place an error becomes an HTTP answer: ``{"error": {"type", "message", "details"}}``.

Handlers and the other middlewares raise; here, for the plugin's paths,
- a ``ConnectError`` is answered with its status, body and headers (a 401 to a browser asking for a
  page is sent to the login form instead);
- aiohttp's own HTTP errors (404, 405 with ``Allow``, 413) get the same shape;
- anything else is logged and answered 500 ``internal_error``;
- an error answer that is not JSON (ComfyUI's origin check answers a bare 403) is rewritten in the shape.
For ComfyUI's own paths only ``ConnectError`` (the access middleware's 401/403) is answered here.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from ...errors import ConnectError, PayloadTooLarge, Unauthorized, Unavailable
from .paths import PUBLIC, Middleware, plugin_methods, plugin_path

log = logging.getLogger("comfyui-connect")
_HTTP_ERROR_TYPES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def render(exc: ConnectError) -> web.Response:
    return web.json_response(exc.body(), status=exc.status, headers=exc.headers)


def known_error(status: int, type_: str, message: str, details: Any = None, headers: dict[str, str] | None = None) -> ConnectError:
    """An error known only by its status and type: aiohttp's own 404/405/413, a bare error answer of
    ComfyUI, a job's error recorded earlier. (Not a subclass: the error classes are the documented types.)"""
    error = ConnectError(message, details, headers)
    error.status, error.type = status, type_
    return error


def http_error(status: int, message: str | None) -> ConnectError:
    return known_error(status, _HTTP_ERROR_TYPES.get(status, "http_error"), message or f"HTTP {status}")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = plugin_path(request.path)
    try:
        response = await handler(request)
    except Unauthorized as exc:
        return to_login(request) if wants_page(request) else render(exc)
    except ConnectError as exc:
        return render(exc)
    except web.HTTPException as exc:
        if path is None or exc.status < 400:
            raise
        return render(await _from_aiohttp(request, exc))
    except Exception as exc:
        if path is None:
            raise
        log.exception("ComfyUI-Connect: unexpected error on %s %s", request.method, request.path)
        return render(ConnectError(f"unexpected {type(exc).__name__}: {exc}"))
    if path is not None and response.status >= 400 and response.content_type != "application/json" and path not in PUBLIC:
        text = response.text if isinstance(response, web.Response) else None
        return render(http_error(response.status, text or response.reason))
    return response


async def _from_aiohttp(request: web.Request, exc: web.HTTPException) -> ConnectError:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):  # request.read()/post() past client_max_size
        return PayloadTooLarge(f"request body too large: {exc.text}")
    error = http_error(exc.status, exc.text or exc.reason)
    if exc.status == 405:  # RFC 9110: a 405 lists the methods the resource has
        error.headers["Allow"] = ",".join(sorted(await plugin_methods(request))) or exc.headers.get("Allow", "")
    return error


def wants_page(request: web.Request) -> bool:
    """A browser navigating (not a script): send it to the login form rather than a JSON 401."""
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "") and "Upgrade" not in request.headers


def to_login(request: web.Request) -> web.Response:
    location = "/connect/login?next=" + quote(request.path_qs, safe="")
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def lockdown(reason: str) -> Middleware:
    """Installed instead of every other middleware when the access settings are broken: fail closed, say why."""
    refusal = Unavailable(f"ComfyUI-Connect refuses every request until its configuration is fixed: {reason}")

    @web.middleware
    async def connect_lockdown(request: web.Request, handler: Handler) -> web.StreamResponse:
        return render(refusal)

    return connect_lockdown
