"""The login form: a browser presents an API key once and gets an HttpOnly, SameSite=Strict cookie.

    GET  /connect/login?next=/      the form (self-contained HTML: works offline, no scripts)
    POST /connect/login             key=<key>&next=/  -> 303 to `next` with the cookie, or 401 and the form
    POST /connect/logout            clears the cookie -> 303 to the form

The cookie holds a value derived from the key (``auth.session_token``), never the key itself; it
stops working when the key is removed from the configuration.
"""

from __future__ import annotations

import html
import re

from aiohttp import web

from .auth import KeyRing, session_token
from .jsonbody import unreadable
from .middleware.access import COOKIE

MAX_AGE = 7 * 24 * 3600
_SAFE_NEXT = re.compile(r"/(?![/\\])[\x21-\x7e]*")
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ComfyUI: API key required</title>
<style>body{{font-family:system-ui,sans-serif;background:#202020;color:#ddd;display:grid;place-items:center;min-height:90vh}}
form{{background:#2b2b2b;padding:2em;border-radius:8px;min-width:20em}}
input,button{{font-size:1em;padding:.4em;margin:.3em 0;width:100%;box-sizing:border-box}}
.error{{color:#f77}}</style></head>
<body><form method="post" action=""><h1>ComfyUI</h1><p>This server needs an API key.</p>{error}
<input type="hidden" name="next" value="{next}">
<label>API key <input type="password" name="key" autocomplete="current-password" autofocus required></label>
<button type="submit">Sign in</button></form></body></html>"""


def safe_next(value: str | None) -> str:
    """Only a path on this server (no '//host' or scheme), so the form is never an open redirect."""
    return value if value and _SAFE_NEXT.fullmatch(value) else "/"


def _page(next_: str, error: str = "", status: int = 200) -> web.Response:
    shown = f'<p class="error">{html.escape(error)}</p>' if error else ""
    body = _PAGE.format(next=html.escape(next_, quote=True), error=shown)
    return web.Response(text=body, content_type="text/html", status=status, headers={"Cache-Control": "no-store"})


async def login_page(request: web.Request) -> web.StreamResponse:
    return _page(safe_next(request.query.get("next")))


async def login_submit(request: web.Request, keys: KeyRing) -> web.StreamResponse:
    with unreadable("the login form"):  # e.g. multipart/form-data without a boundary, an unknown charset
        form = await request.post()
    next_ = safe_next(str(form.get("next") or request.query.get("next") or ""))
    secret = str(form.get("key") or "").strip()
    if not keys.enabled:
        return _see_other(next_)
    if not secret or keys.match(secret) is None:
        return _page(next_, "That API key is not valid.", status=401)
    response = _see_other(next_)
    response.set_cookie(COOKIE, session_token(secret), max_age=MAX_AGE, path="/", httponly=True, samesite="Strict", secure=request.secure)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = _see_other("login")
    response.del_cookie(COOKIE, path="/", samesite="Strict")
    return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})
