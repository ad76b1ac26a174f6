"""Typed per-request values: what the middlewares learn about a request, for the handlers.

    KEY.set(request, key)      # the access middleware
    key = KEY.get(request)     # a handler: ApiKey | None, typed

aiohttp 3.14 has ``web.RequestKey`` (and warns, as an error under our pytest settings, about string
keys); 3.13 (ComfyUI 0.3.75's) has not, so there the key is a plain, namespaced string. Reading and
writing go through ``RequestValue`` so both versions type-check the same way.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

from aiohttp import web

from ..run.limits import Slot
from .auth import ApiKey

T = TypeVar("T")


class RequestValue(Generic[T]):
    def __init__(self, name: str, kind: type[T] | Any) -> None:
        factory = getattr(web, "RequestKey", None)
        self.key: Any = factory(name, kind) if factory is not None else name

    def get(self, request: web.Request) -> T | None:
        return cast("T | None", request.get(self.key))

    def set(self, request: web.Request, value: T) -> None:
        request[self.key] = value


KEY: RequestValue[ApiKey] = RequestValue("connect.key", ApiKey)  # the caller's key; None when no keys are configured
SLOT: RequestValue[Slot] = RequestValue("connect.slot", Slot)  # the admission slot of a run request
STARTED: RequestValue[float] = RequestValue("connect.started", float)  # perf_counter() when the plugin saw it (Server-Timing)
