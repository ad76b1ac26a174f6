"""How long the input files callers send are kept (README "Files in").

    retention = Retention(input_dir / SUBFOLDER, ttl=3600, max_bytes=10 << 30, in_use=referenced)
    retention.sweep()        # -> number of files removed

Files live in ``<input>/connect/`` as ``connect-<sha256 prefix>.<ext>``: ComfyUI's loaders accept the
subfolder (``connect/connect-....png``), their UI lists do not show it. A file is removed once it has
not been stored or sent again for `ttl` seconds, unless something still uses it (`in_use`: the plugin
passes the names in prompts on ComfyUI's queue, waiting or running, from any source, and in the
prompts of stored jobs that have not ended, which a restart re-queues); then, while the folder holds
more than `max_bytes`, the oldest unreferenced files go first. Only names the plugin gives are ever removed: anything else in the folder
(a file put there by hand) is left alone, and so are the files outside it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("comfyui-connect")

SUBFOLDER = "connect"
STORED = re.compile(r"connect-[0-9a-f]{32}\.[a-z0-9]{1,10}")
# A file stored this recently may be about to be queued (stored, then validated, then queued): the
# size cap leaves it alone, so a burst can never delete the input of a call being prepared.
_GRACE = 10.0


@dataclass(frozen=True)
class _Stored:
    path: Path
    size: int
    touched: float


class Retention:
    def __init__(self, folder: Path, ttl: float, max_bytes: int, in_use: Callable[[], set[str]]) -> None:
        self.folder = folder
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._in_use = in_use

    def sweep(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        stored = sorted(self._stored(), key=lambda f: f.touched)
        if not stored:
            return 0
        referenced = self._in_use()
        free = [f for f in stored if f"{SUBFOLDER}/{f.path.name}" not in referenced]
        expired = [f for f in free if now - f.touched > self.ttl]
        total = sum(f.size for f in stored) - sum(f.size for f in expired)
        over: list[_Stored] = []
        for f in free:  # oldest first
            if total <= self.max_bytes:
                break
            if f not in expired and now - f.touched > _GRACE:
                over.append(f)
                total -= f.size
        removed = 0
        for f in (*expired, *over):
            try:
                if f.path.stat().st_mtime != f.touched:
                    continue  # sent again since it was listed: it starts a new lifetime
                f.path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def start(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        """Sweep every `interval` seconds, off the event loop."""

        def sweep() -> None:
            try:
                removed = self.sweep()
            except OSError:  # a read-only or vanished folder must not stop later sweeps
                log.exception("ComfyUI-Connect: sweeping stored input files failed")
                return
            if removed:
                log.info("ComfyUI-Connect: removed %d stored input files no job needs any more", removed)

        def tick() -> None:
            loop.run_in_executor(None, sweep)
            loop.call_later(interval, tick)

        loop.call_later(interval, tick)

    def _stored(self) -> list[_Stored]:
        found = []
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return []
        for entry in entries:
            if STORED.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                found.append(_Stored(Path(entry.path), st.st_size, st.st_mtime))
        return found


def named_files(prompts: Iterable[dict[str, Any]]) -> set[str]:
    """Every string input value of these prompts that names a stored file (``connect/connect-....png``)."""
    prefix = SUBFOLDER + "/"
    return {
        value
        for prompt in prompts
        for node in prompt.values()
        if isinstance(node, dict)
        for value in (node.get("inputs") or {}).values()
        if isinstance(value, str) and value.startswith(prefix)
    }
