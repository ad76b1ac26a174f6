"""Find the files each `#name` output node produced, and read them safely.

ComfyUI reports a node's results as its UI output, e.g. SaveImage's
``{"images": [{"filename": "x_00001_.png", "subfolder": "", "type": "output"}]}``.
Results are returned per output name, nodes in workflow order and files in batch order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ExecutionFailed


@dataclass(frozen=True)
class FileRef:
    filename: str
    subfolder: str
    kind: str  # "output", "temp" or "input"


def file_refs(ui_output: Mapping[str, Any]) -> list[FileRef]:
    refs = []
    for value in ui_output.values():
        if not isinstance(value, list):
            continue
        for entry in value:
            if isinstance(entry, dict) and isinstance(entry.get("filename"), str):
                refs.append(FileRef(entry["filename"], str(entry.get("subfolder") or ""), str(entry.get("type") or "output")))
    return refs


def collect(outputs: Mapping[str, tuple[str, ...]], produced: Mapping[str, Any]) -> dict[str, list[FileRef]]:
    return {name: [ref for node_id in node_ids for ref in file_refs(produced.get(node_id) or {})] for name, node_ids in outputs.items()}


def resolve_path(directory_of: Callable[[str], Path | None], ref: FileRef) -> Path:
    root = directory_of(ref.kind)
    if root is None:
        raise ExecutionFailed(f"output file {ref.filename!r} has unknown type {ref.kind!r}")
    root = root.resolve()
    path = (root / ref.subfolder / ref.filename).resolve()
    if root not in path.parents:
        raise ExecutionFailed(f"output file {ref.filename!r} points outside ComfyUI's {ref.kind} folder")
    return path
