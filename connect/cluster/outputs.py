"""A cluster job's output files: carried by Redis from the worker that made them to whichever instance answers.

    files = gather(directory_of, job.outputs, cap)            # worker: the bytes, or OutputTooLarge
    result, outputs = await place(temp, job, files)            # answering instance: copies in its temp folder

The answering instance writes the copies under ``<ComfyUI temp>/connect-cluster/<job>/<attempt>/`` and
points the job's result at them, so the one delivery code (io/delivery.py) renders them as if ComfyUI
there had made them: base64, raw, ``?output=url`` links served by that instance. Over the cap the job
fails (``output_too_large``) rather than answering with a link to one worker: a worker may be behind NAT
or gone, and then a link would break where an error tells the caller at once what to change.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..comfy.outcome import RunResult
from ..errors import OutputTooLarge
from ..io.outputs import FileRef, Item, resolve_path

FOLDER = "connect-cluster"


def file_key(ref: FileRef) -> str:
    return json.dumps([ref.kind, ref.subfolder, ref.filename], separators=(",", ":"))


def gather(directory_of: Callable[[str], Path | None], named: dict[str, list[Item]], cap: int) -> dict[str, bytes]:
    """Every output file's bytes by file_key (reads files: call it off the loop)."""
    found: dict[str, bytes] = {}
    total = 0
    for ref in (item for items in named.values() for item in items if isinstance(item, FileRef)):
        key = file_key(ref)
        if key in found:
            continue
        data = resolve_path(directory_of, ref).read_bytes()
        total += len(data)
        if total > cap:
            raise OutputTooLarge(
                f"the run's output files are over {cap} bytes, the most a cluster job keeps in Redis"
                " (CONNECT_CLUSTER_OUTPUT_MAX_BYTES); raise it, or make smaller outputs",
                {"limit": cap},
            )
        found[key] = data
    return found


def moved(job_id: str, attempt: int, ref_kind: str, subfolder: str) -> str:
    return "/".join(p for p in (FOLDER, job_id, str(attempt), ref_kind, subfolder) if p)


def relocate(result: RunResult, job_id: str, attempt: int) -> RunResult:
    """The result with every file record pointing at its copy in the temp folder."""

    def entry(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("filename"), str):
            kind = str(value.get("type") or "output")
            return {**value, "subfolder": moved(job_id, attempt, kind, str(value.get("subfolder") or "")), "type": "temp"}
        return value

    outputs = {
        node: {k: [entry(v) for v in vs] if isinstance(vs, list) else vs for k, vs in ui.items()} if isinstance(ui, dict) else ui
        for node, ui in result.outputs.items()
    }
    return replace(result, outputs=outputs)


def write(temp: Path, job_id: str, attempt: int, files: dict[str, bytes]) -> None:
    """Write the copies (blocking: call it off the loop); names come from Redis, so each is checked to stay inside."""
    root = (temp / FOLDER / job_id / str(attempt)).resolve()
    for key, data in files.items():
        kind, subfolder, filename = json.loads(key)
        relative = os.path.normpath(os.path.join(str(kind), str(subfolder), str(filename)))
        path = (root / relative).resolve()
        if os.path.isabs(relative) or not path.is_relative_to(root):
            continue
        if path.is_file() and path.stat().st_size == len(data):
            continue  # placed by an earlier read of the job
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


async def place(temp: Path, job_id: str, attempt: int, files: dict[str, bytes]) -> None:
    await asyncio.to_thread(write, temp, job_id, attempt, files)


def sweep(temp: Path, older_than: float) -> int:
    """Remove the copies of jobs placed more than `older_than` seconds ago (blocking: off the loop); how many.

    Redis drops a job's files after CONNECT_JOB_RESULTS_TTL, so its copies here are of no use after that."""
    root = temp / FOLDER
    if not root.is_dir():
        return 0
    removed = 0
    deadline = time.time() - older_than
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < deadline:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
