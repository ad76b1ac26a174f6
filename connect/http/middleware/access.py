"""Who may do what: API keys on the plugin's routes, and an admin key on ComfyUI's with ``CONNECT_PROTECT_ALL``.

Raises ``Unauthorized`` (401, with ``WWW-Authenticate``) without a valid key, from the
``Authorization`` header or the login cookie, and ``Forbidden`` (403) when the key may not do this;
the caller's key is left in ``KEY`` for the handlers.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from ...errors import Forbidden, Unauthorized
from ..auth import ApiKey, KeyRing
from ..keys import KEY
from .paths import PUBLIC, PUBLIC_PREFIXES, Middleware, plugin_path

COOKIE = "connect_session"
_REALM = 'Bearer realm="ComfyUI-Connect"'
_VERBS = {"run": "use", "manage": "change", "admin": "use"}


@dataclass(frozen=True)
class Access:
    keys: KeyRing
    protect_all: bool

    def middleware(self) -> Middleware:
        @web.middleware
        async def access(request: web.Request, handler: Handler) -> web.StreamResponse:
            path = plugin_path(request.path)
            if path is not None:
                key = self.authorize(request, path)
                if key is not None:
                    KEY.set(request, key)
            elif self.protect_all:
                comfy_key = self.authenticate(request)
                if not comfy_key.permits("admin"):
                    raise Forbidden("ComfyUI's own routes need an admin API key", {"key": comfy_key.id, "access": comfy_key.level})
            return await handler(request)

        return access

    def authorize(self, request: web.Request, path: str) -> ApiKey | None:
        if not self.keys.enabled or path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            return None
        key = self.authenticate(request)
        restore = "version" in request.match_info  # POST .../versions/<id>/restore changes the endpoint
        level, workflow = required_access(request.method, path, request.match_info.get("name"), restore)
        if not key.permits(level, workflow):
            what = f"workflow {workflow!r}" if workflow is not None and key.level in ("run", "manage") else "this route"
            raise Forbidden(
                f"this API key ({key.level}) may not {_VERBS[level]} {what}",
                {"key": key.id, "access": key.level, "required": level, "workflow": workflow},
            )
        return key

    def authenticate(self, request: web.Request) -> ApiKey:
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, secret = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise _unauthorized("send the API key as 'Authorization: Bearer <key>'", "invalid_request")
            key = self.keys.match(secret.strip())
            if key is None:
                raise _unauthorized("the API key is not valid", "invalid_token")
            return key
        cookie = request.cookies.get(COOKIE)
        if cookie:
            key = self.keys.match_session(cookie)
            if key is None:
                raise _unauthorized("the login cookie is no longer valid; log in again at /connect/login", "invalid_token")
            return key
        raise _unauthorized("an API key is required: send 'Authorization: Bearer <key>'", None)


def required_access(method: str, path: str, workflow: str | None, restore: bool = False) -> tuple[str, str | None]:
    if path in ("/connect/metrics", "/connect/cluster") or path.startswith("/connect/cluster/"):
        return "admin", None
    if path.startswith("/connect/workflows/") and workflow is not None:
        return ("manage" if method in ("PUT", "DELETE") or restore else "run"), workflow
    return "run", None


def _unauthorized(message: str, code: str | None) -> Unauthorized:
    challenge = _REALM + (f', error="{code}"' if code else "")
    return Unauthorized(message, None, {"WWW-Authenticate": challenge})
