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

from .outputs import Item, Value, resolve_path

DirectoryOf = Callable[[str], Path | None]


async def render_outputs(files: Mapping[str, list[Item]], delivery: Mapping[str, str], directory_of: DirectoryOf) -> Any:
    return await asyncio.to_thread(_base64, files, directory_of)


def _base64(files: Mapping[str, list[Item]], directory_of: DirectoryOf) -> dict[str, list[Any]]:
    return {name: [_plain(item, directory_of) for item in items] for name, items in files.items()}


def _plain(item: Item, directory_of: DirectoryOf) -> Any:
    # The default delivery's shape (delivery.py): a file as base64, a value as {"<ui key>": value}.
    if isinstance(item, Value):
        return item.as_json()
    return base64.b64encode(resolve_path(directory_of, item).read_bytes()).decode("ascii")


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
