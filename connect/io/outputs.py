"""Find what each `#name` output node produced: its files, and the values it shows.

ComfyUI reports a node's results as its UI output, e.g. SaveImage's
``{"images": [{"filename": "x_00001_.png", "subfolder": "", "type": "output"}]}``, PreviewAny's
``{"text": ("hello",)}``, SaveAudio's ``{"audio": [...]}``, SaveGLB's ``{"3d": [...]}``. Every entry
that names a file is a file, whatever its key; every other entry is a value shown by the node
(except display flags such as ``animated``). Results are returned per output name, nodes in workflow
order, and entries in the order the node reported them (a batch in batch order).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..comfy.nodespec import SpecLookup
from ..errors import ExecutionFailed
from ..workflow.endpoint import Prompt

# UI keys that tell ComfyUI's page how to show the files, not results of their own.
DISPLAY_FLAGS = frozenset({"animated"})
# The input every API run adds to its `#` output nodes (see `uncached_outputs`).
RUN_INPUT = "connect_run"


@dataclass(frozen=True)
class FileRef:
    filename: str
    subfolder: str
    kind: str  # "output", "temp" or "input"


@dataclass(frozen=True)
class Value:
    key: str  # the UI key it came under, e.g. "text"
    value: Any  # JSON-safe

    def as_json(self) -> dict[str, Any]:
        """How every delivery mode shows a node's value: ``{"text": ["..."]}``."""
        return {self.key: self.value}


Item = FileRef | Value


def items(ui_output: Mapping[str, Any]) -> list[Item]:
    found: list[Item] = []
    for key, entries in ui_output.items():
        if key in DISPLAY_FLAGS or not isinstance(entries, (list, tuple)):
            continue
        for entry in entries:
            if isinstance(entry, dict) and "filename" in entry:
                if isinstance(entry["filename"], str):  # a malformed file record is nothing to return
                    found.append(FileRef(entry["filename"], str(entry.get("subfolder") or ""), str(entry.get("type") or "output")))
            elif entry is not None:
                found.append(Value(str(key), _json_safe(entry)))
    return found


def file_refs(ui_output: Mapping[str, Any]) -> list[FileRef]:
    return [item for item in items(ui_output) if isinstance(item, FileRef)]


def collect(outputs: Mapping[str, tuple[str, ...]], produced: Mapping[str, Any]) -> dict[str, list[Item]]:
    return {name: [item for node_id in node_ids for item in items(produced.get(node_id) or {})] for name, node_ids in outputs.items()}


def resolve_path(directory_of: Callable[[str], Path | None], ref: FileRef) -> Path:
    root = directory_of(ref.kind)
    if root is None:
        raise ExecutionFailed(f"output file {ref.filename!r} has unknown type {ref.kind!r}")
    real_root = _real_folder(str(root))
    outside = ExecutionFailed(f"output file {ref.filename!r} points outside ComfyUI's {ref.kind} folder")
    relative = os.path.normpath(os.path.join(ref.subfolder, ref.filename))
    if os.path.isabs(relative) or relative == os.curdir or relative.split(os.sep, 1)[0] == os.pardir or "\0" in relative:
        raise outside
    path = os.path.join(real_root, relative)
    # Only the few components below the folder can be links out of it: checking them is far cheaper
    # than resolving the whole path on every delivery. A link found is followed and must stay inside.
    parts = relative.split(os.sep)
    if any(os.path.islink(os.path.join(real_root, *parts[: depth + 1])) for depth in range(len(parts))):
        path = os.path.realpath(path)
        if os.path.commonpath([real_root, path]) != real_root or path == real_root:
            raise outside
    return Path(path)


@functools.lru_cache(maxsize=16)
def _real_folder(folder: str) -> str:
    # ComfyUI's folders do not move while it runs (a changed one is a new key).
    return os.path.realpath(folder)


def uncached_outputs(prompt: Prompt, node_ids: tuple[str, ...], spec: SpecLookup, run: str) -> Prompt:
    """Give each `#` output node of this run an input no other prompt has, so ComfyUI runs it again.

    ComfyUI answers an identical node from its cache with the very file records of the earlier run,
    which the plugin deleted after delivering them. With this input (unknown to the node class, so
    never passed to it and ignored by validation, but part of ComfyUI's cache key) output nodes
    always write fresh files, while everything upstream (models, sampling) stays cached.
    """
    changed = dict(prompt)
    for node_id in node_ids:
        node = prompt.get(node_id)
        node_spec = spec(node["class_type"]) if node else None
        if node is not None and node_spec is not None and node_spec.output_node:
            changed[node_id] = {**node, "inputs": {**node.get("inputs", {}), RUN_INPUT: run}}
    return changed


def _json_safe(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)
