"""Run admission: a run call takes a slot (429 per client, 503 overall, both with ``Retry-After``),
kept in ``SLOT`` for a job that outlives the request; 503 at once when ComfyUI's prompt worker is dead."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from ...errors import Unavailable
from ...run.limits import Admission
from ..keys import KEY, SLOT
from .paths import Middleware, is_run, plugin_only


def admission(slots: Admission, worker_alive: Callable[[], bool]) -> Middleware:
    async def admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_run(request):
            return await handler(request)
        if not worker_alive():
            raise Unavailable("ComfyUI's prompt worker thread has stopped, so nothing can run; restart ComfyUI")
        key = KEY.get(request)
        with slots.slot(key.id if key else str(request.remote)) as slot:
            SLOT.set(request, slot)
            return await handler(request)

    return plugin_only(admit)
