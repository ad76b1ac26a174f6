"""CORS for the plugin's routes (``CONNECT_CORS_ORIGINS``), in two middlewares around the error one:

- ``headers`` (outside it) marks every answer, errors included, for an allowed origin;
- ``requests`` (inside it) answers preflights (403 for another origin) and takes an allowed
  ``Origin`` off the request, since ComfyUI's own origin check refuses cross-origin calls to a
  loopback host.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from ...errors import Forbidden
from .paths import Middleware, plugin_only

_EXPOSED_HEADERS = (
    "X-Connect-Prompt-Id, X-Connect-Job-Id, X-Connect-Output, Content-Disposition, Location, Retry-After, ETag, "
    "WWW-Authenticate, Preference-Applied, Server-Timing"
)
_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-None-Match, Idempotency-Key, Prefer, Last-Event-ID",
    "Access-Control-Max-Age": "600",
}


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

    def headers(self) -> Middleware:
        async def cors_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            response = await handler(request)
            if self.allows(origin):
                response.headers["Access-Control-Allow-Origin"] = str(origin)
                response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
            if self.enabled:
                response.headers.add("Vary", "Origin")
            return response

        return plugin_only(cors_headers)

    def requests(self) -> Middleware:
        async def cors_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
            allowed = self.allows(request.headers.get("Origin"))
            if self.enabled and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
                if not allowed:
                    raise Forbidden("this origin may not call the API (CONNECT_CORS_ORIGINS)")
                return web.Response(status=204, headers=_PREFLIGHT_HEADERS)
            if allowed:
                headers = request.headers.copy()
                headers.popall("Origin", None)
                request = request.clone(headers=headers)
            return await handler(request)

        return plugin_only(cors_requests)
