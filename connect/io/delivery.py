"""How a run's outputs reach the caller: chosen per request, rendered by one function.

    choice = delivery.choose(request)                      # ?output=... or the Accept header
    return await delivery.render(result, outputs, choice, request)
    await delivery.job_outputs(result, outputs, job.delivery)  # GET of a job, its webhook: same form

- base64 (default; ``?output=base64``, ``Accept: application/json`` or ``*/*``):
  ``{"name": ["<base64>", {"text": "..."}]}``
- url (``?output=url``, ``Accept: application/vnd.comfyui-connect.url+json``):
  ``{"name": ["http://host/api/connect/files/<token>/<file>"]}``
- detailed (``?output=detailed``, ``Accept: application/vnd.comfyui-connect.detailed+json``):
  ``{"name": [{"type": "file", "mime_type", "filename", "size", "width", "height", "frames", "duration", "content"}]}``
- raw (``?output=raw``, or any other Accept type: ``image/png``, ``image/*``, ``application/octet-stream``):
  the one output file's bytes with its Content-Type (406 when the run has not exactly one output)

A value shown by a node (PreviewAny's text) is ``{"<ui key>": value}`` in base64 and url modes, a
``{"type": "value", ...}`` item in detailed mode, and ``text/plain`` in raw mode.

A job remembers the run call's choice: ``GET /api/connect/jobs/<id>`` and its webhook show the outputs
in that form (render.py renders all three), except raw, which a JSON job cannot hold: a raw job shows
url links. ``GET`` may ask for another JSON form with ``?output=base64|url|detailed``.

After delivery the run's files are deleted from ComfyUI's output and temp folders, unless
CONNECT_KEEP_OUTPUTS is set; in url mode they are moved to the link's folder and deleted when the link
expires. Only files of the `#` nodes of this API run are touched: those in the output or temp folder,
written after the run started. (Why a later identical run never gets records of deleted files: see
outputs.uncached_outputs.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ..comfy.outcome import RunResult
from ..errors import BadRequest, ExecutionFailed, NotAcceptable, NotFound
from .links import FileLinks, Link
from .media import OCTET_STREAM, mime_type
from .outputs import FileRef, Item, Value, collect, resolve_path
from .render import Mode as Mode  # chosen here, defined beside the renderer
from .render import encode_json, render_outputs

log = logging.getLogger("comfyui-connect")
PROMPT_HEADER = "X-Connect-Prompt-Id"
QUERY = "output"
FILES_ROUTE = "/api/connect/files"
# Files older than the run's start (less this slack for coarse file system clocks) are not the run's.
_MTIME_SLACK = 2.0
_DELETABLE_KINDS = ("output", "temp")
# Outputs up to this size (in all) are read on the event loop: ~0.1 ms of work, versus ~0.3 ms and
# a GIL hand-off for a worker thread. Larger ones, url links and detailed probes go to a thread.
_INLINE_BYTES = 64 * 1024


MEDIA_TYPES = {
    Mode.BASE64: "application/json",
    Mode.URL: "application/vnd.comfyui-connect.url+json",
    Mode.DETAILED: "application/vnd.comfyui-connect.detailed+json",
}
_JSON_RANGES = ("application/json", "application/*", "*/*")


_JOB_MODES = (Mode.BASE64, Mode.URL, Mode.DETAILED)


@dataclass(frozen=True)
class Choice:
    mode: Mode
    accept: tuple[str, ...] = ("*/*",)  # media ranges the raw file must match
    base: str = ""  # where download links start (scheme://host); a job's webhook has no request to ask


def choose(query: str | None, accept: str | None) -> Choice:
    """The query parameter wins; else the Accept header's most preferred media range decides."""
    if query is not None:
        try:
            return Choice(Mode(query))
        except ValueError:
            allowed = ", ".join(m.value for m in Mode)
            raise BadRequest(f"query parameter 'output' must be one of {allowed}, not {query!r}", {"path": QUERY}) from None
    ranges = media_ranges(accept or "")
    if not ranges or ranges[0] in _JSON_RANGES:
        return Choice(Mode.BASE64)
    for mode, media in MEDIA_TYPES.items():
        if ranges[0] == media:
            return Choice(mode)
    return Choice(Mode.RAW, tuple(ranges))


def choose_again(query: str | None, kept: Choice) -> Choice:
    """A job's outputs on GET: as its run call chose, or as ?output= asks (a JSON form: the job is JSON)."""
    if query is None:
        return kept
    if query not in {m.value for m in _JOB_MODES}:
        allowed = ", ".join(m.value for m in _JOB_MODES)
        raise BadRequest(f"query parameter 'output' must be one of {allowed}, not {query!r}", {"path": QUERY})
    return Choice(Mode(query))


def media_ranges(accept: str) -> list[str]:
    """'image/png;q=0.5, image/*' -> ['image/*', 'image/png'] (by preference; q=0 dropped)."""
    ranked = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((-quality, index, media.lower()))
    return [media for _, _, media in sorted(ranked)]


def matches(mime: str, ranges: tuple[str, ...]) -> bool:
    """Whether a file of type `mime` may be sent; application/octet-stream takes any file ("just bytes")."""
    major = mime.split("/", 1)[0]
    return any(r in ("*/*", OCTET_STREAM, mime, f"{major}/*") for r in ranges)


@dataclass(frozen=True)
class _File:
    ref: FileRef
    path: Path
    deletable: bool  # written by this run into the output or temp folder
    size: int


class Delivery:
    def __init__(self, directory_of: Callable[[str], Path | None], links: FileLinks, keep: bool, public_url: str = "") -> None:
        self.directory_of = directory_of
        self.links = links
        self.keep = keep
        self.public_url = public_url.rstrip("/")

    def start_sweeps(self, loop: asyncio.AbstractEventLoop) -> None:
        """Delete expired links' files every so often (a quarter of the TTL, 1 s to 60 s)."""
        interval = min(max(self.links.ttl / 4, 1.0), 60.0)

        def sweep() -> None:
            try:
                self.links.sweep()
            except OSError:  # a full or read-only disk must not stop later sweeps
                log.exception("ComfyUI-Connect: sweeping expired download links failed")

        def tick() -> None:
            loop.run_in_executor(None, sweep)
            loop.call_later(interval, tick)

        loop.call_later(interval, tick)

    def choose(self, request: web.Request) -> Choice:
        return replace(choose(request.query.get(QUERY), request.headers.get("Accept")), base=self._base(request))

    def choose_again(self, request: web.Request, kept: Choice) -> Choice:
        """GET of a job: its run call's choice unless ?output= asks for another; links start at this request's host."""
        return replace(choose_again(request.query.get(QUERY), kept), base=self._base(request))

    def _base(self, request: web.Request) -> str:
        return self.public_url or f"{request.scheme}://{request.host}"

    def check_possible(self, choice: Choice, outputs: Mapping[str, tuple[str, ...]]) -> None:
        """Refuse raw delivery before running a workflow that has no `#` output at all."""
        if choice.mode is Mode.RAW and not any(outputs.values()):
            raise NotAcceptable("raw delivery needs exactly one output file, and this workflow has no `#` output", {"files": 0})

    async def render(
        self,
        result: RunResult,
        outputs: Mapping[str, tuple[str, ...]],
        choice: Choice,
        request: web.Request,
        *,
        consume: bool = True,
    ) -> web.Response:
        """The HTTP response for a finished run in the chosen form.

        With `consume` (the default) the run's files are deleted once rendered (kept with
        CONNECT_KEEP_OUTPUTS); a caller that renders the same result again later (a job fetched
        twice) passes False and calls `discard` when done.
        """
        named = collect(outputs, result.outputs)
        base = choice.base or self._base(request)
        files = self._files(named, _run_started(result))
        args = (named, files, choice, result.prompt_id, base, consume)
        # Handing a few kilobytes to a worker thread and back costs more than reading them here.
        if choice.mode in (Mode.BASE64, Mode.RAW) and sum(f.size for f in files.values()) <= _INLINE_BYTES:
            return self._render(*args)
        return await asyncio.to_thread(self._render, *args)

    async def job_outputs(self, result: RunResult, outputs: Mapping[str, tuple[str, ...]], choice: Choice) -> dict[str, Any] | None:
        """A kept job's outputs as the run call rendered them (raw: as url links), its files left in place;
        None once a file is gone (deleted from ComfyUI's output folder since)."""
        named = collect(outputs, result.outputs)
        files = self._files(named, _run_started(result))
        if any(ref not in files for entries in named.values() for ref in entries if isinstance(ref, FileRef)):
            return None
        mode = Mode.URL if choice.mode is Mode.RAW else choice.mode
        try:
            return await asyncio.to_thread(self._outputs, named, files, mode, choice.base, None)
        except FileNotFoundError:  # deleted while it was read
            return None

    def discard(self, result: RunResult, outputs: Mapping[str, tuple[str, ...]]) -> None:
        if not self.keep:
            files = self._files(collect(outputs, result.outputs), _run_started(result))
            _delete(f for f in files.values() if f.deletable)

    async def download(self, request: web.Request) -> web.StreamResponse:
        """GET /api/connect/files/<token>/<name>."""
        token, name = request.match_info["token"], request.match_info["name"]
        link = self.links.lookup(token, name)
        if (link is None or not link.path.is_file()) and self.links.shared is not None:
            link = await self._shared(token, name)  # made by another instance of the cluster
        if link is None or not link.path.is_file():
            raise NotFound("no such file: the link is wrong or has expired (CONNECT_FILE_URL_TTL)")
        headers = {"Content-Type": link.mime_type, "Content-Disposition": _disposition(link.name), "Cache-Control": "private"}
        return web.FileResponse(link.path, headers=headers)

    async def _shared(self, token: str, name: str) -> Link | None:
        assert self.links.shared is not None
        found = await self.links.shared.find(self.links.key(token))
        if found is None or not hmac.compare_digest(found[0].name.encode(), name.encode()):
            return None
        return await asyncio.to_thread(self.links.adopt, token, *found)  # later downloads here read the copy

    # -- rendering (in a worker thread unless the files are small: they are read, encoded, moved) --
    def _render(
        self, named: dict[str, list[Item]], files: dict[FileRef, _File], choice: Choice, prompt_id: str, base: str, consume: bool
    ) -> web.Response:
        moved: set[Path] = set()
        try:
            _check_present(named, files)
            headers = {PROMPT_HEADER: prompt_id}
            if choice.mode is Mode.RAW:
                return _raw(named, files, choice, headers)
            body = self._outputs(named, files, choice.mode, base, moved if consume else None)
            return web.Response(body=encode_json(body), content_type=MEDIA_TYPES[choice.mode], headers=headers)
        finally:
            if consume and not self.keep:
                _delete(f for f in files.values() if f.deletable and f.path not in moved)

    def _files(self, named: dict[str, list[Item]], started: float | None) -> dict[FileRef, _File]:
        """The run's output files that exist, each once."""
        files: dict[FileRef, _File] = {}
        for ref in (item for entries in named.values() for item in entries if isinstance(item, FileRef)):
            if ref in files:
                continue
            path = resolve_path(self.directory_of, ref)
            try:
                found = path.stat()
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(found.st_mode):
                continue
            fresh = started is None or found.st_mtime >= started - _MTIME_SLACK
            files[ref] = _File(ref, path, ref.kind in _DELETABLE_KINDS and fresh, found.st_size)
        return files

    def _outputs(
        self, named: dict[str, list[Item]], files: dict[FileRef, _File], mode: Mode, base: str, moved: set[Path] | None
    ) -> dict[str, Any]:
        """The one renderer (render.py) fed with this run's files; url links are published first, each file once."""
        urls = self._urls(files, base, moved) if mode is Mode.URL else {}
        return render_outputs(named, {ref: file.path for ref, file in files.items()}, mode, urls.__getitem__)

    def _urls(self, files: dict[FileRef, _File], base: str, moved: set[Path] | None) -> dict[FileRef, str]:
        """Publish each file; with `moved`, a file of this run is moved to its link's folder (and added to it)."""
        urls: dict[FileRef, str] = {}
        for ref, file in files.items():
            name = _download_name(ref.filename)
            move = moved is not None and not self.keep and file.deletable
            token = self.links.publish(file.path, name, mime_type(name), move=move)
            if move and moved is not None:
                moved.add(file.path)
            urls[ref] = f"{base}{FILES_ROUTE}/{token}/{quote(name)}"
        return urls


def _check_present(named: dict[str, list[Item]], files: dict[FileRef, _File]) -> None:
    for ref in (item for entries in named.values() for item in entries if isinstance(item, FileRef)):
        if ref not in files:
            raise ExecutionFailed(f"output file {ref.filename!r} ({ref.kind}) is missing: it was deleted before it was delivered")


def _raw(named: dict[str, list[Item]], files: dict[FileRef, _File], choice: Choice, headers: dict[str, str]) -> web.Response:
    entries = [(name, item) for name, items in named.items() for item in items]
    if len(entries) != 1:
        counts = {name: len(items) for name, items in named.items()}
        raise NotAcceptable(
            f"raw delivery needs exactly one output, and this run produced {len(entries)} ({_counts(counts)}); "
            "use ?output=base64, url or detailed",
            {"outputs": counts},
        )
    name, item = entries[0]
    headers = {**headers, "X-Connect-Output": name}
    if isinstance(item, Value):
        text = item.value if isinstance(item.value, str) else json.dumps(item.value)
        _check_accepted("text/plain", choice)
        return web.Response(text=text, content_type="text/plain", charset="utf-8", headers=headers)
    mime = mime_type(item.filename)
    _check_accepted(mime, choice)
    headers["Content-Disposition"] = _disposition(_download_name(item.filename))
    return web.Response(body=files[item].path.read_bytes(), content_type=mime, headers=headers)


def _check_accepted(mime: str, choice: Choice) -> None:
    if not matches(mime, choice.accept):
        raise NotAcceptable(
            f"the output is {mime}, which the Accept header ({', '.join(choice.accept)}) does not allow", {"mime_type": mime}
        )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n}" for name, n in counts.items()) or "no `#` output"


def _run_started(result: RunResult) -> float | None:
    """When ComfyUI started the prompt, in time.time() seconds."""
    return result.started


def _delete(files: Any) -> None:
    for file in files:
        with contextlib.suppress(FileNotFoundError):
            file.path.unlink()


def _download_name(filename: str) -> str:
    name = PurePosixPath(filename.replace("\\", "/")).name
    return name if name not in ("", ".", "..") else "file"


def _disposition(name: str) -> str:
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
