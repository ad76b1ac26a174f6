"""What the middlewares ask about a request's path: is it the plugin's, which route, which methods."""

from __future__ import annotations

import functools

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

__all__ = ["Middleware"]  # aiohttp's own type: an Application takes a list of it as it is

RUN_ROUTE = "/connect/workflows/{name}"
# Answered without a key; their own error answers (e.g. the login form's 401) are pages, not JSON.
PUBLIC = ("/connect/health", "/connect/ready", "/connect/login", "/connect/logout")
# Download links (?output=url) carry an unguessable token: the link is the permission, like a presigned URL.
PUBLIC_PREFIXES = ("/connect/docs/", "/connect/files/")


def plugin_path(path: str) -> str | None:
    """'/api/connect/x' and '/connect/x' -> '/connect/x'; other paths -> None."""
    if path.startswith("/api/connect"):
        path = path[4:]
    return path if path == "/connect" or path.startswith("/connect/") else None


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else ""
    label = plugin_path(canonical)
    return label if label is not None else "unmatched"


def is_run(request: web.Request) -> bool:
    return request.method == "POST" and route_label(request) == RUN_ROUTE


async def plugin_methods(request: web.Request) -> set[str]:
    """The methods of the plugin's own routes at this path (ComfyUI's static root also matches it, for GET)."""
    methods: set[str] = set()
    for resource in request.app.router.resources():
        if plugin_path(resource.canonical) is not None:
            _, allowed = await resource.resolve(request)
            methods |= allowed
    return methods


def plugin_only(middleware: Middleware) -> Middleware:
    """``middleware`` for the plugin's paths; ComfyUI's own requests pass by untouched."""

    @web.middleware
    @functools.wraps(middleware)
    async def only_plugin(request: web.Request, handler: Handler) -> web.StreamResponse:
        if plugin_path(request.path) is None:
            return await handler(request)
        return await middleware(request, handler)

    return only_plugin
