"""A run call whose client hangs up is cancelled (the run handler then cancels the job unless told not
to, see jobs.py) and logged as 499, nginx's code for "the client closed the connection"."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from .paths import is_run, plugin_only

log = logging.getLogger("comfyui-connect")
CLIENT_CLOSED = 499
_WATCH_SECONDS = 0.25


async def _cancel_on_disconnect(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run the handler; if the client goes away first, cancel it (the executor cancels the prompt).

    A timer looks at the connection now and then, rather than a second task per call and a wait on it:
    the run call is the hot path, and that task cost an extra trip through the event loop."""
    if not is_run(request):
        return await handler(request)
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
        task.uncancel()
        return web.Response(status=CLIENT_CLOSED)
    finally:
        if timer is not None:
            timer.cancel()


cancel_on_disconnect = plugin_only(_cancel_on_disconnect)
