"""``CONNECT_MAX_BODY_BYTES`` on the plugin's routes: 413 from ``Content-Length`` before anything is
read, and the same cap for aiohttp while reading (``request.read()``/``post()`` raise past it)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from ...errors import PayloadTooLarge
from .paths import Middleware, plugin_only


def body_limit(max_body: int) -> Middleware:
    async def limit_body(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > max_body:
            raise PayloadTooLarge(
                f"the request body is {request.content_length} bytes, over the {max_body} byte limit (CONNECT_MAX_BODY_BYTES)",
                {"limit": max_body},
            )
        return await handler(request.clone(client_max_size=max_body))

    return plugin_only(limit_body)
