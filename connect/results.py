"""A finished run's files, rendered as the run call answers them.

    await render_outputs({"out": [FileRef("x_00001_.png", "", "output")]}, {}, directory_of)
    -> {"out": ["iVBORw0KGgo..."]}

The one place where a run's outputs become its answer: the synchronous run call, ``GET
/api/connect/jobs/<id>`` and webhooks all go through it. ``delivery`` carries the run call's
delivery options (its query), for renderers that offer more than base64.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .outputs import FileRef, resolve_path

DirectoryOf = Callable[[str], Path | None]
# Encoding a few small files takes microseconds on the event loop; handing them to a thread costs more
# (two cross-thread wake-ups, each contending for the GIL with ComfyUI's worker). Big outputs still go to a thread.
INLINE_ENCODE_LIMIT = 256 * 1024


async def render_outputs(files: Mapping[str, list[FileRef]], delivery: Mapping[str, str], directory_of: DirectoryOf) -> Any:
    return await asyncio.to_thread(_base64, files, directory_of)


def _base64(files: Mapping[str, list[FileRef]], directory_of: DirectoryOf) -> dict[str, list[str]]:
    return {
        name: [base64.b64encode(resolve_path(directory_of, ref).read_bytes()).decode("ascii") for ref in refs]
        for name, refs in files.items()
    }


async def render_body(files: Mapping[str, list[FileRef]], delivery: Mapping[str, str], directory_of: DirectoryOf) -> bytes:
    """The run call's JSON body, the same bytes as ``json.dumps(await render_outputs(...))``."""
    paths = {name: [resolve_path(directory_of, ref) for ref in refs] for name, refs in files.items()}
    if sum(path.stat().st_size for found in paths.values() for path in found) <= INLINE_ENCODE_LIMIT:
        return encode_base64_json(paths)
    return await asyncio.to_thread(encode_base64_json, paths)


def encode_base64_json(paths: Mapping[str, list[Path]]) -> bytes:
    """``json.dumps({name: [base64, ...]})`` without json.dumps.

    Base64 never needs escaping, and letting json.dumps scan and copy megabytes of it was most of the
    encoding time of a 2048x2048 PNG.
    """
    fields = (
        json.dumps(name).encode() + b": [" + b", ".join(b'"' + base64.b64encode(path.read_bytes()) + b'"' for path in found) + b"]"
        for name, found in paths.items()
    )
    return b"{" + b", ".join(fields) + b"}"
