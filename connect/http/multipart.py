"""The body of a run request: JSON, or multipart/form-data with the JSON in a `payload` part.

    curl -F 'payload={"load": {"image": {"type": "file", "part": "photo"}}}' -F photo=@photo.png \\
         http://127.0.0.1:8188/api/connect/workflows/edit

Every other part is a file, streamed into a temporary file of ComfyUI's input folder while it is
read, with the limits checked on the way (413 as soon as a part passes CONNECT_MAX_FILE_BYTES or the
body passes CONNECT_MAX_BODY_BYTES, before the rest is read). The payload refers to a part by name;
a part nobody refers to, or a name sent twice, is a 400. The temporary files are removed when the
run is over (the loaders got their own copies, see files.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from ..contract.openapi import PAYLOAD_PART
from ..errors import BadRequest, InputFileError, PayloadTooLarge
from ..io.inputs import InputFiles, Upload, UploadWriter
from .jsonbody import UNREADABLE, parse_json

_CHUNK = 64 * 1024


@dataclass
class RunBody:
    payload: Any
    parts: dict[str, Upload] | None = None  # None: not a multipart request
    _writers: list[UploadWriter] = field(default_factory=list)


def is_multipart(request: web.Request) -> bool:
    return request.content_type.lower() == "multipart/form-data"


@contextlib.asynccontextmanager
async def run_body(
    request: web.Request, files: InputFiles, max_file: int, max_body: int, read_json: Callable[[], Awaitable[Any]]
) -> AsyncIterator[RunBody]:
    """The payload (and the file parts) of a run request; temporary files are removed on exit."""
    if not is_multipart(request):
        yield RunBody(await read_json())
        return
    body = RunBody({}, {})
    try:
        await _read_parts(request, files, max_file, max_body, body)
        _check_references(body)
        yield body
    finally:
        for writer in body._writers:
            writer.discard()


async def _read_parts(request: web.Request, files: InputFiles, max_file: int, max_body: int, body: RunBody) -> None:
    assert body.parts is not None
    try:
        reader = await request.multipart()
    except (*UNREADABLE, KeyError) as exc:
        raise BadRequest(f"the multipart/form-data body cannot be read: {exc or type(exc).__name__}") from exc
    total, payload_seen = 0, False
    try:
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                raise BadRequest("nested multipart bodies are not accepted: send one part per file")
            name = part.name
            if not name:
                raise BadRequest("every part of a multipart run request needs a name (Content-Disposition: form-data; name=...)")
            if name == PAYLOAD_PART:
                if payload_seen:
                    raise BadRequest("the 'payload' part was sent twice", {"path": PAYLOAD_PART})
                payload_seen = True
                raw = await _read_small(part, max_body - total)
                total += len(raw)
                body.payload = _parse_payload(raw)
                continue
            if name in body.parts:
                raise InputFileError(f"the file part {name!r} was sent twice", {"path": name, "reason": "duplicate_part"})
            writer = files.writer()
            body._writers.append(writer)
            total = await _stream(part, writer, name, max_file, max_body, total)
            body.parts[name] = writer.finish(part.filename)
    except UNREADABLE as exc:  # aiohttp's reader on a malformed body
        raise BadRequest(f"the multipart/form-data body is malformed: {exc or type(exc).__name__}") from exc


async def _stream(part: BodyPartReader, writer: UploadWriter, name: str, max_file: int, max_body: int, total: int) -> int:
    while chunk := await part.read_chunk(_CHUNK):
        writer.write(chunk)
        total += len(chunk)
        if writer.size > max_file:
            raise PayloadTooLarge(
                f"the file part {name!r} is over the {max_file} byte limit (CONNECT_MAX_FILE_BYTES)", {"path": name, "limit": max_file}
            )
        if total > max_body:
            raise PayloadTooLarge(f"the request body is over the {max_body} byte limit (CONNECT_MAX_BODY_BYTES)", {"limit": max_body})
    return total


async def _read_small(part: BodyPartReader, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("the request body is over its byte limit (CONNECT_MAX_BODY_BYTES)", {"path": PAYLOAD_PART})
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_payload(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    return parse_json(raw, "the 'payload' part")


def _check_references(body: RunBody) -> None:
    parts = body.parts or {}
    references = list(part_references(body.payload))
    for path, part in references:
        if part not in parts:
            sent = ", ".join(sorted(parts)) or "none"
            raise InputFileError(
                f"'{path}.part': no file part named {part!r} was sent; sent: {sent}", {"path": path, "reason": "missing_part"}
            )
    referenced = {part for _, part in references}
    unused = sorted(set(parts) - referenced)
    if unused:
        raise InputFileError(
            f"the file part {unused[0]!r} is not referred to by the payload; refer to it as "
            f'{{"type": "file", "part": "{unused[0]}"}} in an input',
            {"path": unused[0], "reason": "unused_part"},
        )


def part_references(payload: Any) -> Iterator[tuple[str, str]]:
    """("group.input", part name) for every file object of the payload that names a part."""
    if not isinstance(payload, Mapping):
        return
    for group, values in payload.items():
        if not isinstance(values, Mapping):
            continue
        for name, value in values.items():
            if isinstance(value, Mapping) and value.get("type") == "file" and isinstance(value.get("part"), str):
                yield f"{group}.{name}", value["part"]
