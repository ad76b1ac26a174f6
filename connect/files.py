"""Turn file objects from a run payload into files in ComfyUI's input folder.

    {"type": "file", "content": "<base64 or data: URI>", "name": "in.png"}
    {"type": "file", "url": "https://host/in.png"}

The stored name is derived from the content's SHA-256 (``connect-<hash>.<ext>``): two requests never
collide, the same content is stored once, and no caller-given name ever becomes a path. A ``name``
that looks like a path anyway (separators, ``..``, NUL, control or bidi characters, also after
percent-decoding or Unicode NFKC folding) is refused, so callers learn early that it was wrong.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

import aiohttp
from yarl import URL

from .errors import InputFileError, PayloadTooLarge
from .limits import check_image
from .netguard import BlockedAddress, Networks, check_literal_host, connector

_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")
_DATA_URI = re.compile(r"data:[^,]{0,200};base64,", re.IGNORECASE)
_MAX_REDIRECTS = 5
# Decoding big base64 strings takes milliseconds: do it off the event loop past this size.
_INLINE_DECODE_LIMIT = 256 * 1024


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int = 50 * 1024 * 1024
    url_timeout: float = 30.0
    allow_private_urls: bool = False
    max_pixels: int | None = None
    allowed_networks: Networks = ()


class InputFiles:
    def __init__(self, input_dir: Path, limits: FileLimits) -> None:
        self.input_dir = input_dir
        self.limits = limits
        self._session: aiohttp.ClientSession | None = None

    async def resolve(self, path: str, spec: Mapping[str, Any]) -> str:
        content, url = spec.get("content"), spec.get("url")
        if (content is None) == (url is None):
            raise InputFileError(f"'{path}': a file object needs exactly one of 'content' (base64) or 'url'", {"path": path})
        name = spec.get("name")
        if name is not None:
            check_file_name(f"{path}.name", name)
        if content is not None:
            data = await self._decode(path, content)
            hint = name
        else:
            data = await self._download(path, url)
            hint = name or URL(str(url)).name
        if self.limits.max_pixels is not None:
            await asyncio.to_thread(check_image, path, data, self.limits.max_pixels)
        return await asyncio.to_thread(self._store, data, hint if isinstance(hint, str) else None)

    def sweep(self) -> int:
        """Remove temp files left by a process killed mid-write; returns how many."""
        stale = list(self.input_dir.glob(".connect-*.tmp")) if self.input_dir.is_dir() else []
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

    def _store(self, data: bytes, hint: str | None) -> str:
        digest = hashlib.sha256(data).hexdigest()[:32]
        name = f"connect-{digest}{_suffix(hint, data)}"
        path = self.input_dir / name
        if not path.exists():
            self.input_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.input_dir, prefix=".connect-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return name


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


def _b64decode(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)


def _blocked(path: str, exc: OSError) -> InputFileError:
    return InputFileError(
        f"'{path}.url' is refused: {exc}. Set CONNECT_ALLOW_PRIVATE_URLS=1 to allow local addresses.",
        {"path": path, "reason": "ssrf"},
    )


def _suffix(hint: str | None, data: bytes) -> str:
    if hint:
        suffix = PurePosixPath(hint.replace("\\", "/")).suffix
        if _SUFFIX.fullmatch(suffix):
            return suffix.lower()
    return _sniff(data)


def _sniff(data: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return "." + (image.format or "bin").lower().replace("jpeg", "jpg")
    except (UnidentifiedImageError, OSError):
        return ".bin"
