"""Download links every instance serves: a link made on one instance is kept in Redis too (``SharedLinks``).

    connect:link:<sha256 of its token>   hash: name, mime_type, expires, data (the file's bytes);
                                         expires with the link (CONNECT_FILE_URL_TTL)

A load balancer sends a ``?output=url`` download to any instance. The one that made the link serves it from
its own folder (io/links.py); any other one finds the token's digest here, checks the name, serves the
bytes and keeps a copy (so a second download there reads its disk). A token unknown here and in Redis is a
404, as on one machine. The bytes are copied, not pointed at the job's files (connect:job:<id>:files:<n>):
those expire with CONNECT_JOB_RESULTS_TTL, which may be shorter than the link's, and a DELETE of the job
removes them while the link handed out stays valid. A job's files are capped (CONNECT_CLUSTER_OUTPUT_MAX_BYTES),
so a link's copy is too.

``share`` runs in the worker thread that renders the answer (io/delivery.py) and waits for Redis, so the URL
is known to every instance before the caller has it; Redis away: logged, and the link works where it was made.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from typing import Any

from ..io.links import Link
from .link import PREFIX, RedisLink
from .view import Unreachable

log = logging.getLogger("comfyui-connect")
_WAIT = 10.0  # seconds a rendering thread waits for Redis to take a link


def link_key(key: str) -> str:
    return f"{PREFIX}link:{key}"


class ClusterLinks:
    def __init__(self, link: RedisLink, loop: asyncio.AbstractEventLoop) -> None:
        self._link = link
        self._loop = loop

    def share(self, key: str, link: Link) -> None:
        data = link.path.read_bytes()
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:  # never blocks the event loop: stored shortly (not expected: url links render in a thread)
            self._loop.create_task(self._put_logged(key, link, data))
            return
        try:
            asyncio.run_coroutine_threadsafe(self._put(key, link, data), self._loop).result(_WAIT)
        except (Unreachable, TimeoutError) as exc:
            log.warning("ComfyUI-Connect: a download link could not be shared through Redis (%s); it works on this instance only", exc)

    async def find(self, key: str) -> tuple[Link, bytes] | None:
        try:
            fields = await self._link.call(lambda: self._link.client.hgetall(link_key(key)))
        except Unreachable:
            return None  # as unknown: a 404, and the caller may try another instance
        return _found(fields)

    async def _put(self, key: str, link: Link, data: bytes) -> None:
        ttl = max(1, math.ceil(link.expires - time.time()))
        mapping: dict[str, Any] = {"name": link.name, "mime_type": link.mime_type, "expires": repr(link.expires), "data": data}

        async def put() -> None:
            async with self._link.client.pipeline(transaction=True) as pipe:
                pipe.hset(link_key(key), mapping=mapping)
                pipe.expire(link_key(key), ttl)
                await pipe.execute()

        await self._link.call(put)

    async def _put_logged(self, key: str, link: Link, data: bytes) -> None:
        try:
            await self._put(key, link, data)
        except Unreachable as exc:
            log.warning("ComfyUI-Connect: a download link could not be shared through Redis (%s); it works on this instance only", exc)


def _found(fields: dict[Any, Any] | None) -> tuple[Link, bytes] | None:
    if not fields or b"data" not in fields:
        return None
    try:
        name, mime = fields[b"name"].decode(), fields[b"mime_type"].decode()
        expires = float(fields[b"expires"])
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    if expires <= time.time():
        return None
    return Link(Path(name), name, mime, expires), bytes(fields[b"data"])  # path: where adopt() puts the copy
