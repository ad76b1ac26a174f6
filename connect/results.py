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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .outputs import FileRef, resolve_path

DirectoryOf = Callable[[str], Path | None]


async def render_outputs(files: Mapping[str, list[FileRef]], delivery: Mapping[str, str], directory_of: DirectoryOf) -> Any:
    return await asyncio.to_thread(_base64, files, directory_of)


def _base64(files: Mapping[str, list[FileRef]], directory_of: DirectoryOf) -> dict[str, list[str]]:
    return {
        name: [base64.b64encode(resolve_path(directory_of, ref).read_bytes()).decode("ascii") for ref in refs]
        for name, refs in files.items()
    }
