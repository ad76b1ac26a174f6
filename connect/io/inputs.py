"""Turn file objects from a run payload into files in ComfyUI's input folder.

    {"type": "file", "content": "<base64 or data: URI>", "name": "in.png"}
    {"type": "file", "url": "https://host/in.png"}
    {"type": "file", "part": "img1"}        a part of a multipart/form-data request (multipart.py)

The stored name is derived from the content's SHA-256 (``connect/connect-<hash>.<ext>``, in a subfolder
that ComfyUI's loaders accept and their UI lists do not show; retention.py says how long it stays): two
requests never collide, the same content is stored once, and no caller-given name ever becomes a path. A ``name``
that looks like a path anyway (separators, ``..``, NUL, control or bidi characters, also after
percent-decoding or Unicode NFKC folding) is refused, so callers learn early that it was wrong.

Every file is first written to a temporary file of the input folder, checked against what its loader
expects (loaders.py: an image Pillow can decode, a video or audio PyAV can decode, a pixel cap), and
only then linked into place under its final name: ComfyUI never sees a half-written or refused file.
A full disk while writing is a 503 and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

import aiohttp
from yarl import URL

from ..errors import InputFileError, PayloadTooLarge, Unavailable
from .loaders import LoaderKind, check_file
from .netguard import BlockedAddress, Networks, check_literal_host, connector
from .pixels import check_image
from .retention import SUBFOLDER

_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")
_DATA_URI = re.compile(r"data:[^,]{0,200};base64,", re.IGNORECASE)
_MAX_REDIRECTS = 5
# Decoding big base64 strings takes milliseconds: do it off the event loop past this size.
_INLINE_DECODE_LIMIT = 256 * 1024
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int = 50 * 1024 * 1024
    url_timeout: float = 30.0
    allow_private_urls: bool = False
    max_pixels: int | None = None
    allowed_networks: Networks = ()


@dataclass(frozen=True)
class Upload:
    """A file received into a temporary file of the input folder (a multipart part), not yet placed."""

    tmp: Path
    digest: str  # SHA-256, hex
    size: int
    filename: str | None  # the name the caller's client gave the part, a hint for the extension


class UploadWriter:
    """Write a file chunk by chunk into the input folder, hashing it on the way."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".connect-", suffix=".tmp")
        self.tmp = Path(tmp)
        self.size = 0
        self._handle = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        with self._no_space():
            self._handle.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self, filename: str | None) -> Upload:
        with self._no_space():
            self._handle.close()  # flushes: a full disk may show only here
        return Upload(self.tmp, self._hash.hexdigest(), self.size, filename)

    @contextlib.contextmanager
    def _no_space(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if exc.errno not in _DISK_FULL:
                raise
            self.discard()
            raise disk_full(self.tmp.parent) from exc

    def discard(self) -> None:
        self._handle.close()
        self.tmp.unlink(missing_ok=True)


class InputFiles:
    def __init__(self, input_dir: Path, limits: FileLimits) -> None:
        self.input_dir = input_dir
        self.folder = input_dir / SUBFOLDER
        self.limits = limits
        self._session: aiohttp.ClientSession | None = None

    async def resolve(
        self,
        path: str,
        spec: Mapping[str, Any],
        *,
        kind: LoaderKind | None = None,
        parts: Mapping[str, Upload] | None = None,
        listed: bool = False,
    ) -> str:
        """Store the file `spec` describes for the input at `path`; returns the name the loader gets.

        `kind` is what the input's loader expects (checked before the file is placed); `parts` are the
        files of a multipart request, by part name. `listed`: the loader only takes files of its own
        list (it does not validate the name itself), so the file goes into the input folder's top level.
        """
        given = [key for key in ("content", "url", "part") if spec.get(key) is not None]
        if len(given) != 1:
            raise InputFileError(
                f"'{path}': a file object needs exactly one of 'content' (base64), 'url' or 'part' (multipart), not {given or 'none'}",
                {"path": path},
            )
        name = spec.get("name")
        if name is not None:
            check_file_name(f"{path}.name", name)
        if given == ["part"]:
            upload = _part(path, spec["part"], parts)
            hint = name or upload.filename
            return await asyncio.to_thread(self._place, path, upload.tmp, upload.digest, hint, kind, listed)
        if given == ["content"]:
            data = await self._decode(path, spec["content"])
            hint = name
        else:
            data = await self._download(path, spec["url"])
            hint = name or URL(str(spec["url"])).name
        return await asyncio.to_thread(self._store, path, data, hint if isinstance(hint, str) else None, kind, listed)

    def writer(self) -> UploadWriter:
        return UploadWriter(self.input_dir)

    def sweep(self) -> int:
        """Remove temp files left by a process killed mid-write; returns how many."""
        stale = [p for d in (self.input_dir, self.folder) if d.is_dir() for p in d.glob(".connect-*.tmp")]
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _decode(self, path: str, content: Any) -> bytes:
        if not isinstance(content, str):
            raise InputFileError(f"'{path}.content' must be a base64 string", {"path": path})
        text = _DATA_URI.sub("", content[:256], count=1) + content[256:] if content[:5].lower() == "data:" else content
        if len(text) * 3 // 4 > self.limits.max_bytes + 3:
            raise PayloadTooLarge(f"'{path}': file is larger than the {self.limits.max_bytes} byte limit", {"path": path})
        try:
            data = await asyncio.to_thread(_b64decode, text) if len(text) > _INLINE_DECODE_LIMIT else _b64decode(text)
        except (binascii.Error, ValueError) as exc:
            raise InputFileError(f"'{path}.content' is not valid base64: {exc}", {"path": path}) from exc
        # The estimate above lets up to 3 bytes over through; the decoded size is exact.
        if len(data) > self.limits.max_bytes:
            raise PayloadTooLarge(f"'{path}': file is larger than the {self.limits.max_bytes} byte limit", {"path": path})
        return data

    async def _download(self, path: str, url: Any) -> bytes:
        if not isinstance(url, str):
            raise InputFileError(f"'{path}.url' must be a string", {"path": path})
        target = _parse_url(path, url)
        try:
            for _ in range(_MAX_REDIRECTS + 1):
                if target.scheme not in ("http", "https") or not target.host:
                    raise InputFileError(
                        f"'{path}.url': only absolute http and https URLs are fetched, not {str(target)!r}", {"path": path}
                    )
                if not self.limits.allow_private_urls:
                    check_literal_host(target.host, self.limits.allowed_networks)
                async with self._client().get(target, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                        target = target.join(_parse_url(path, response.headers["Location"]))
                        continue
                    if response.status != 200:
                        raise InputFileError(
                            f"'{path}.url': fetching {url} answered HTTP {response.status}", {"path": path, "status": response.status}
                        )
                    return await self._read_limited(path, response)
            raise InputFileError(f"'{path}.url': more than {_MAX_REDIRECTS} redirects", {"path": path})
        except BlockedAddress as exc:
            raise _blocked(path, exc) from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddress):
                raise _blocked(path, exc.os_error) from exc
            raise InputFileError(f"'{path}.url': cannot connect to {target.host}: {exc.os_error}", {"path": path}) from exc
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise InputFileError(f"'{path}.url': fetching {url} failed: {exc!r}", {"path": path}) from exc

    async def _read_limited(self, path: str, response: aiohttp.ClientResponse) -> bytes:
        limit = self.limits.max_bytes
        if response.content_length is not None and response.content_length > limit:
            raise PayloadTooLarge(f"'{path}.url': the file is {response.content_length} bytes, over the {limit} byte limit", {"path": path})
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"'{path}.url': the file is over the {limit} byte limit", {"path": path})
            chunks.append(chunk)
        return b"".join(chunks)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.limits.url_timeout)
            self._session = aiohttp.ClientSession(
                connector=connector(self.limits.allow_private_urls, self.limits.allowed_networks), timeout=timeout
            )
        return self._session

    def _store(self, path: str, data: bytes, hint: str | None, kind: LoaderKind | None, listed: bool) -> str:
        writer = self.writer()
        try:
            writer.write(data)
            upload = writer.finish(hint)
            return self._place(path, upload.tmp, upload.digest, hint, kind, listed)
        finally:
            writer.discard()

    def _place(self, path: str, tmp: Path, digest: str, hint: str | None, kind: LoaderKind | None, listed: bool = False) -> str:
        """Check the file in `tmp` for its loader, then give it its final name (`tmp` stays)."""
        if self.limits.max_pixels is not None:
            check_image(path, tmp, self.limits.max_pixels)
        suffix = check_file(path, tmp, kind, self.limits.max_pixels, hint) or _suffix(hint, tmp)
        name = f"connect-{digest[:32]}{suffix}"
        folder = self.input_dir if listed else self.folder
        try:
            folder.mkdir(exist_ok=True)
            _link(tmp, folder / name)
        except OSError as exc:
            if exc.errno in _DISK_FULL:
                raise disk_full(folder) from exc
            raise
        return name if listed else f"{SUBFOLDER}/{name}"


def _parse_url(path: str, text: str) -> URL:
    # yarl raises ValueError on e.g. "http://[::1" or a port over 65535, in the payload or a Location header.
    try:
        return URL(text)
    except ValueError as exc:
        raise InputFileError(f"'{path}.url': {text!r} is not a valid URL: {exc}", {"path": path}) from exc


def check_file_name(path: str, name: Any) -> None:
    """A caller's file name is only a hint for the extension; refuse one that tries to be a path."""
    if not isinstance(name, str):
        raise InputFileError(f"'{path}' must be a string", {"path": path})
    folded = unicodedata.normalize("NFKC", name)
    for form in {name, folded, unquote(name), unicodedata.normalize("NFKC", unquote(folded))}:
        odd = [c for c in form if c in "/\\:\x00" or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
        if odd or form in ("", ".", "..") or len(form) > 255:
            shown = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(odd)) or "its length or dots"
            raise InputFileError(
                f"'{path}' must be a plain file name (no folders, '..', control or direction characters); {name!r} is refused ({shown})",
                {"path": path, "reason": "unsafe_name"},
            )


def _part(path: str, part: Any, parts: Mapping[str, Upload] | None) -> Upload:
    if parts is None:
        raise InputFileError(
            f"'{path}.part': file parts can only be sent in a multipart/form-data request (a 'payload' part and file parts)",
            {"path": path, "reason": "no_multipart"},
        )
    if not isinstance(part, str) or part not in parts:
        sent = ", ".join(sorted(parts)) or "none"
        raise InputFileError(f"'{path}.part': no file part named {part!r} was sent; sent: {sent}", {"path": path, "reason": "missing_part"})
    return parts[part]


def _link(tmp: Path, target: Path) -> None:
    """Give `target` the content of `tmp` atomically; the same content may already be there (same hash)."""
    if target.exists():
        # Sent again: its lifetime starts over (retention.py counts from the last time it was stored).
        with contextlib.suppress(FileNotFoundError):
            os.utime(target)
        if target.exists():
            return
    try:
        os.link(tmp, target)
    except FileExistsError:
        pass  # another request stored the same content a moment ago
    except OSError:  # a file system without hard links: copy, then rename into place
        fd, copy = tempfile.mkstemp(dir=target.parent, prefix=".connect-", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(tmp, copy)
            os.replace(copy, target)
        finally:
            Path(copy).unlink(missing_ok=True)


def disk_full(folder: Path) -> Unavailable:
    return Unavailable(
        "the disk of ComfyUI's input folder is full: the file could not be stored, and nothing of it was kept",
        {"reason": "disk_full", "folder": folder.name},
    )


def _b64decode(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)


def _blocked(path: str, exc: OSError) -> InputFileError:
    return InputFileError(
        f"'{path}.url' is refused: {exc}. Set CONNECT_ALLOW_PRIVATE_URLS=1 to allow local addresses.",
        {"path": path, "reason": "ssrf"},
    )


def _suffix(hint: str | None, file: Path) -> str:
    if hint:
        suffix = PurePosixPath(hint.replace("\\", "/")).suffix
        if _SUFFIX.fullmatch(suffix):
            return suffix.lower()
    return _sniff(file)


def _sniff(file: Path) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            return "." + (image.format or "bin").lower().replace("jpeg", "jpg")
    except (UnidentifiedImageError, OSError):
        return ".bin"
