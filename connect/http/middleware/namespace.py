"""The plugin owns ``/connect/*``: a path there that no route of the plugin matches is a 404 (or a
405 with the methods the path has), never a file of ComfyUI's static root, which matches any path
for GET."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from .paths import plugin_methods, plugin_only, route_label


async def _namespace(request: web.Request, handler: Handler) -> web.StreamResponse:
    if route_label(request) == "unmatched":
        methods = await plugin_methods(request)
        if methods:
            raise web.HTTPMethodNotAllowed(request.method, methods)
        raise getattr(request.match_info, "http_exception", None) or web.HTTPNotFound()
    return await handler(request)


namespace = plugin_only(_namespace)
