"""The gate: the plugin's middlewares, in order, in front of every ComfyUI route (installed at setup).

    app.middlewares[:0] = gate.middlewares()     # first is outermost

For the plugin's own routes (``/connect/...``, ``/api/connect/...``), outermost first:

    metrics        counts and times the final answer; stamps STARTED
    cors.headers   Access-Control-* and Vary on every answer, errors included
    errors         the one place an error becomes a response (middleware/errors.py)
    cors.requests  preflights; an allowed Origin is taken off for ComfyUI's origin check
    access         API key: 401 / 403; KEY
    body_limit     413 over CONNECT_MAX_BODY_BYTES
    namespace      404 / 405 for a /connect path no route has
    admission      run calls: 429 per client, 503 overall or with a dead prompt worker; SLOT
    disconnect     run calls: cancelled when the client hangs up

ComfyUI's routes pass through untouched, except with ``CONNECT_PROTECT_ALL=1``: then ``access`` wants an
admin key (header or login cookie) and ``errors`` answers its refusal (a browser asking for a page is
sent to the login form).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ops.metrics import Metrics
from ..run.limits import Admission
from .auth import KeyRing
from .middleware.access import Access
from .middleware.admission import admission
from .middleware.body_limit import body_limit
from .middleware.cors import Cors
from .middleware.disconnect import cancel_on_disconnect
from .middleware.errors import errors, lockdown
from .middleware.metrics import metrics
from .middleware.namespace import namespace
from .middleware.paths import Middleware

__all__ = ["Cors", "Gate", "lockdown"]


@dataclass
class Gate:
    keys: KeyRing
    protect_all: bool
    cors: Cors
    max_body: int
    admission: Admission
    metrics: Metrics
    worker_alive: Callable[[], bool]

    def middlewares(self) -> list[Middleware]:
        return [
            metrics(self.metrics),
            self.cors.headers(),
            errors,
            self.cors.requests(),
            Access(self.keys, self.protect_all).middleware(),
            body_limit(self.max_body),
            namespace,
            admission(self.admission, self.worker_alive),
            cancel_on_disconnect,
        ]
