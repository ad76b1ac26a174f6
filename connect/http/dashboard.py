"""GET /connect/cluster/dashboard: the cluster's statistics page (dashboard.html, one self-contained file).

No CDN and no library: the page polls GET /api/connect/cluster every 2 s and draws inline SVG. It needs
an admin key like the listing (access.py): a browser without one is sent to the login form, whose
cookie the page's own requests then carry. ``?embed=1`` is the compact form ComfyUI's sidebar shows.
"""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from aiohttp import web

_PAGE = Path(__file__).with_name("dashboard.html")


@cache
def _html() -> str:
    return _PAGE.read_text(encoding="utf-8")


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    # Read once, in a thread (never on the loop), then served from memory.
    return web.Response(text=await asyncio.to_thread(_html), content_type="text/html", headers={"Cache-Control": "no-cache"})
