"""The cluster's Redis: every key the plugin uses and every command it sends (the only redis-py import).

connect:instances              sorted set: instance id -> time of its last heartbeat
connect:instance:<id>          its last heartbeat (JSON), expiring after a few missed beats
connect:workflows              hash: name -> the stored file's bytes (absent when deleted)
connect:workflows:meta         hash: name -> "<version>:<sha256>" ("<version>:" once deleted: a tombstone)
connect:workflows:version      counter: each change takes the next number (last writer wins)
connect:workflows:changes      stream of changes (name, version, hash) every instance follows
connect:jobs... (the job engine)  see jobdb.py
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import RedisError

from .view import Connection, Unreachable

T = TypeVar("T")
PREFIX = "connect:"
INSTANCES = PREFIX + "instances"
WORKFLOWS = PREFIX + "workflows"
META = WORKFLOWS + ":meta"
VERSION = WORKFLOWS + ":version"
CHANGES = WORKFLOWS + ":changes"
CHANGES_KEPT = 10_000  # a follower further behind than this resyncs from the hash

# One change, atomically: the next version, the document (or its removal), its meta, the stream entry.
_PUT = """
local v = redis.call('INCR', KEYS[3])
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
redis.call('HSET', KEYS[2], ARGV[1], v .. ':' .. ARGV[2])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'name', ARGV[1], 'version', v, 'hash', ARGV[2])
return v
"""


@dataclass(frozen=True)
class Stamp:
    version: int
    hash: str  # "" for a deleted workflow


def shown_url(url: str) -> str:
    """The URL without its password, for logs and answers."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisLink:
    def __init__(self, url: str, connection: Connection, timeout: float = 5.0) -> None:
        self.connection = connection  # every call tells it whether Redis answered
        # The socket timeout stays over the longest blocking read (follow()'s XREAD), so a silent
        # network drop is noticed without cutting a healthy wait short.
        # One quick retry (a pooled connection Redis closed on restart), not redis-py's default backoff of
        # seconds: each loop here retries on its own, and a call stuck in backoff delays sync after an outage.
        retry = Retry(ConstantBackoff(0.05), 1)
        self._client: Any = redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=timeout, retry=retry)
        self._put = self._client.register_script(_PUT)

    @property
    def client(self) -> Any:
        """The redis-py client, for the job engine (jobdb.py), which keeps its own keys and scripts."""
        return self._client

    async def call(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call()` against Redis; Unreachable (and the connection marked down) when Redis does not answer."""
        return await self._call(call)

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            answer = await call()
        except (RedisError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            self.connection.failed(reason)
            raise Unreachable(reason) from exc
        self.connection.ok()
        return answer

    async def close(self) -> None:
        await self._client.aclose()

    # -- membership ---------------------------------------------------------------------------------
    async def beat(self, instance: str, heartbeat: dict[str, Any], ttl: float, now: float) -> None:
        async def send() -> None:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(PREFIX + "instance:" + instance, json.dumps(heartbeat), px=int(ttl * 1000))
                pipe.zadd(INSTANCES, {instance: now})
                await pipe.execute()

        await self._call(send)

    async def members(self) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            ids = [i.decode() for i in await self._client.zrange(INSTANCES, 0, -1)]
            beats = await self._client.mget([PREFIX + "instance:" + i for i in ids]) if ids else []
            gone = [i for i, beat in zip(ids, beats, strict=True) if beat is None]
            if gone:  # their heartbeat expired: they stopped
                await self._client.zrem(INSTANCES, *gone)
            return [json.loads(beat) for beat in beats if beat is not None]

        return await self._call(read)

    # -- workflows ------------------------------------------------------------------------------------
    async def put(self, name: str, data: bytes | None, digest: str) -> int:
        args: list[str | bytes | int] = [name, digest if data is not None else "", data or b"", CHANGES_KEPT]
        return int(await self._call(lambda: self._put(keys=[WORKFLOWS, META, VERSION, CHANGES], args=args)))

    async def snapshot(self) -> tuple[str, dict[str, Stamp]]:
        """The last change's id (follow from there) and every workflow's stamp, tombstones included."""

        async def read() -> tuple[str, dict[str, Stamp]]:
            last = await self._client.xrevrange(CHANGES, count=1)
            meta = await self._client.hgetall(META)
            return (last[0][0].decode() if last else "0-0"), {k.decode(): _stamp(v.decode()) for k, v in meta.items()}

        return await self._call(read)

    async def fetch(self, name: str) -> tuple[Stamp | None, bytes | None]:
        async def read() -> tuple[Stamp | None, bytes | None]:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hget(META, name)
                pipe.hget(WORKFLOWS, name)
                meta, data = await pipe.execute()
            return (_stamp(meta.decode()) if meta else None), data

        return await self._call(read)

    async def changes(self, after: str, block_ms: int) -> list[tuple[str, str]]:
        """(stream id, workflow name) of the changes after `after`, waiting up to `block_ms` for one."""
        answer = await self._call(lambda: self._client.xread({CHANGES: after}, block=block_ms, count=500))
        entries = answer[0][1] if answer else []
        return [(entry_id.decode(), fields[b"name"].decode()) for entry_id, fields in entries]


def _stamp(meta: str) -> Stamp:
    version, _, digest = meta.partition(":")
    return Stamp(int(version), digest)
