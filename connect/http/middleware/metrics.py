"""Counts and times every call of the plugin's routes (outermost, so it sees the final answer) and
stamps ``STARTED``, where the plugin's share of Server-Timing begins."""

from __future__ import annotations

import json
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from ...ops.metrics import Metrics
from ..keys import STARTED
from .disconnect import CLIENT_CLOSED
from .paths import Middleware, plugin_only, route_label


def metrics(recorder: Metrics) -> Middleware:
    async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        STARTED.set(request, started)
        response = await handler(request)
        recorder.request(route_label(request), request.method, response.status, time.perf_counter() - started, error_type(response))
        return response

    return plugin_only(measure)


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
