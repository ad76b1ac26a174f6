"""Download links for output files: ``GET /api/connect/files/<token>/<name>``, valid for a while.

    token = links.publish(Path("output/x_00001_.png"), "x_00001_.png", "image/png", move=True)
    links.lookup(token, "x_00001_.png")   -> Link(path=..., mime_type="image/png", expires=...)

The token is 32 random bytes (URL-safe base64): the link itself is the permission to download, so
the files route needs no API key. Each linked file lives in its own folder under ``root``, named by
the SHA-256 of its token (a listing of the folder reveals no link), with a ``link.json`` beside it;
links therefore survive a restart. Once expired (``CONNECT_FILE_URL_TTL``), a link answers 404 and
its folder is deleted by the next sweep (run periodically, and at start).

In a cluster a load balancer may send the download to another instance than the one that made the
link: ``shared`` (cluster/links.py) then holds each link and its bytes in Redis with the link's TTL, and
an instance that does not know a token asks it (``Delivery.download``) and keeps a copy (``adopt``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger("comfyui-connect")
_META = "link.json"


@dataclass(frozen=True)
class Link:
    path: Path
    name: str
    mime_type: str
    expires: float  # time.time() seconds


class SharedLinks(Protocol):
    """Links every instance of a cluster can serve; keyed by the token's digest (the token is never stored)."""

    def share(self, key: str, link: Link) -> None:
        """Publish `link` (its file is in place) before its URL is handed out; called from a worker thread."""

    async def find(self, key: str) -> tuple[Link, bytes] | None:
        """The link made on another instance and its file's bytes; None if unknown or expired."""


class FileLinks:
    def __init__(self, root: Path, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.ttl = ttl
        self._clock = clock
        self.shared: SharedLinks | None = None  # set in a cluster (plugin.py)
        self._links: dict[str, Link] = {}
        self._lock = threading.Lock()

    def publish(self, source: Path, name: str, mime_type: str, *, move: bool) -> str:
        """Make `source` downloadable as `name`; moved (the original is gone) or linked/copied."""
        token = secrets.token_urlsafe(32)
        folder = self.root / _digest(token)
        folder.mkdir(parents=True)
        target = folder / name
        if move:
            shutil.move(source, target)
        else:
            _copy(source, target)
        link = Link(target, name, mime_type, self._clock() + self.ttl)
        _write_meta(folder, link)
        with self._lock:
            self._links[_digest(token)] = link
        if self.shared is not None:
            self.shared.share(_digest(token), link)
        return token

    def key(self, token: str) -> str:
        return _digest(token)

    def adopt(self, token: str, link: Link, data: bytes) -> Link | None:
        """Keep here a copy of a link another instance made (its name and expiry as they were); None if expired."""
        if link.expires <= self._clock() or "/" in link.name or link.name in ("", ".", ".."):
            return None
        folder = self.root / _digest(token)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / link.name
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".file-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
        kept = Link(target, link.name, link.mime_type, link.expires)
        _write_meta(folder, kept)
        with self._lock:
            self._links[_digest(token)] = kept
        return kept

    def lookup(self, token: str, name: str) -> Link | None:
        with self._lock:
            link = self._links.get(_digest(token))
        # The digest found the entry; the name must match too (compared in constant time anyway).
        if link is None or not hmac.compare_digest(link.name.encode(), name.encode()) or link.expires <= self._clock():
            return None
        return link

    def load(self) -> int:
        """Register the links stored by an earlier run of the server; returns how many folders were removed."""
        removed = 0
        for folder in self.root.iterdir() if self.root.is_dir() else ():
            link = _read_meta(folder)
            if link is None or link.expires <= self._clock():
                removed += _remove(folder)
            else:
                with self._lock:
                    self._links[folder.name] = link
        return removed

    def sweep(self) -> int:
        """Delete every expired link's files; returns how many."""
        now = self._clock()
        with self._lock:
            expired = [key for key, link in self._links.items() if link.expires <= now]
            for key in expired:
                del self._links[key]
        return sum(_remove(self.root / key) for key in expired)

    def __len__(self) -> int:
        return len(self._links)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:40]


def _copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # same content, no extra space; the output file stays as it is
    except OSError:
        shutil.copyfile(source, target)


def _write_meta(folder: Path, link: Link) -> None:
    data = json.dumps({"name": link.name, "mime_type": link.mime_type, "expires": link.expires})
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".link-", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
    os.replace(tmp, folder / _META)


def _read_meta(folder: Path) -> Link | None:
    try:
        data = json.loads((folder / _META).read_text())
        link = Link(folder / data["name"], str(data["name"]), str(data["mime_type"]), float(data["expires"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return link if link.path.parent == folder and link.path.is_file() else None


def _remove(folder: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)
            return 1
        folder.unlink()
        return 1
    return 0
