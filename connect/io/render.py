"""A finished run's outputs in one delivery mode: the one place they are rendered.

    render_outputs({"out": [ref]}, {ref: Path(".../x_00001_.png")}, Mode.BASE64, url_of)
    -> {"out": [b"iVBORw0KGgo..."]}
    encode_json({"out": [b"iVBORw0KGgo..."]})
    -> b'{"out": ["iVBORw0KGgo..."]}'

The synchronous run answer, ``GET /api/connect/jobs/<id>`` and webhooks all go through
``render_outputs`` (delivery.py calls it, with the files and download links it owns). A file's base64
stays ASCII bytes until ``encode_json`` writes it: base64 never needs escaping, and letting json.dumps
scan and copy megabytes of it was most of the encoding time of a 2048x2048 PNG.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from .media import describe
from .outputs import FileRef, Item, Value


class Mode(str, Enum):
    BASE64 = "base64"
    URL = "url"
    RAW = "raw"
    DETAILED = "detailed"


UrlOf = Callable[[FileRef], str]  # a file's download link (delivery.py publishes it)


def render_outputs(named: Mapping[str, list[Item]], paths: Mapping[FileRef, Path], mode: Mode, url_of: UrlOf) -> dict[str, list[Any]]:
    """Every `#` output in `mode`, a JSON mode (raw delivery is the one file's bytes, not JSON).

    base64: a file as its base64, a value as ``{"<ui key>": value}``; url: a file as its link;
    detailed: ``{"type": "file", ...facts, "content"}`` or ``{"type": "value", "key", "value"}``.
    """
    if mode is Mode.RAW:
        raise ValueError("raw delivery is a file's bytes, not JSON")
    return {name: [_item(item, paths, mode, url_of) for item in items] for name, items in named.items()}


def _item(item: Item, paths: Mapping[FileRef, Path], mode: Mode, url_of: UrlOf) -> Any:
    if mode is Mode.DETAILED:
        return _detailed(item, paths)
    if isinstance(item, Value):
        return item.as_json()
    if mode is Mode.URL:
        return url_of(item)
    return base64.b64encode(paths[item].read_bytes())


def _detailed(item: Item, paths: Mapping[FileRef, Path]) -> dict[str, Any]:
    if isinstance(item, Value):
        return {"type": "value", "key": item.key, "value": item.value}
    path = paths[item]
    where = {"filename": item.filename, "subfolder": item.subfolder, "folder": item.kind}
    return {"type": "file", **where, **describe(path).facts(), "content": base64.b64encode(path.read_bytes())}


def encode_json(value: Any) -> bytes:
    """``json.dumps(value).encode()``, where bytes (base64, ASCII) are written as JSON strings without a scan.

    Dicts have string keys (every body here does).
    """
    if isinstance(value, bytes):
        return b'"' + value + b'"'
    if isinstance(value, dict):
        return b"{" + b", ".join(json.dumps(key).encode() + b": " + encode_json(item) for key, item in value.items()) + b"}"
    if isinstance(value, (list, tuple)):
        return b"[" + b", ".join(encode_json(item) for item in value) + b"]"
    return json.dumps(value).encode()
