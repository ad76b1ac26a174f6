"""A cluster job's input files: carried by Redis from the instance that took the run to the worker.

    files = await gather_inputs(input_dir, plan.prompt)    # api side: the stored files the prompt names
    await place_inputs(input_dir, files)                    # worker: the same names in its input folder

Input files are stored under their content's hash (io/inputs.py: ``connect/connect-<hash>.<ext>``, or at
the top level for loaders that only take listed files), so a copy under the same name on the worker is the
same file, and two jobs never collide. A name read from Redis is written only if it has that exact form.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

from ..io.retention import SUBFOLDER

_STORED = re.compile(rf"^(?:{re.escape(SUBFOLDER)}/)?connect-[0-9a-f]{{32}}\.[A-Za-z0-9]{{1,10}}$")


def input_names(prompt: dict[str, Any]) -> list[str]:
    """The plugin-stored input files this prompt names (none for most prompts: no Redis call then)."""
    found = {
        value
        for node in prompt.values()
        if isinstance(node, dict)
        for value in (node.get("inputs") or {}).values()
        if isinstance(value, str) and _STORED.match(value)
    }
    return sorted(found)


def _read(input_dir: Path, names: list[str]) -> dict[str, bytes]:
    files = {}
    for name in names:
        path = input_dir / name
        if path.is_file():
            files[name] = path.read_bytes()
    return files


def _write(input_dir: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        if not _STORED.match(name):
            continue
        path = input_dir / name
        if path.is_file() and path.stat().st_size == len(data):
            continue  # the same content (the name is its hash): already here
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # ComfyUI never sees a half-written file


async def gather_inputs(input_dir: Path, prompt: dict[str, Any]) -> dict[str, bytes]:
    names = input_names(prompt)
    return await asyncio.to_thread(_read, input_dir, names) if names else {}


async def place_inputs(input_dir: Path, files: dict[str, bytes]) -> None:
    if files:
        await asyncio.to_thread(_write, input_dir, files)
