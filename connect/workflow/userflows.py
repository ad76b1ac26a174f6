"""ComfyUI's own saved workflows (the folder its UI writes, <user dir>/default/workflows) served as
endpoints when they carry at least one `#` output annotation: "plug and play".

    users = UserWorkflows(comfy.user_workflows_dir(), convert)
    users.load("my-flow-2")       # "My Flow (2).json"
    good, problems = users.load_all()

Name rule (`slug`): the file's path in that folder without ".json", each part lower-cased, accents
dropped, every run of characters other than a-z, 0-9, "_" and "-" made one "-", "-" trimmed at both
ends, cut at 64: "My Flow (2).json" -> "my-flow-2", "Team/Upscale 4x.json" -> "team/upscale-4x".
Two files with one slug: the first by path is served, the other reported as a clash. A workflow
published through the UI menu (it keeps the endpoint name in `extra.connect.endpoint`) is served
under that name only, so it is skipped here.

Cheap on every call: the folder listing is kept until a walked folder's mtime changes (a stat per
folder), and each file's reading (and conversion) until its own stat changes. Files without a `#`
title are not converted at all.
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ConnectError, InvalidName, NameClash, NotFound
from .plain import Converter, has_output_title, read_plain
from .store import NAME_RULE, SUFFIX, SavedWorkflow

log = logging.getLogger("comfyui-connect")
_NAME = re.compile(NAME_RULE)
_OTHER = re.compile(r"[^a-z0-9_-]+")
PROBLEM_PREFIX = "user:"  # problems are keyed "user:<file>": a ':' is never in a name, so no key is an endpoint's
Read = SavedWorkflow | ConnectError | None  # None: not served (no `#` output, or published through the menu)


def slug(relative: str) -> str | None:
    """The endpoint name of the user workflow at `relative` (e.g. "My Flow (2).json"); None if it has none."""
    parts = []
    for part in relative.removesuffix(SUFFIX).split("/"):
        ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode().lower()
        cut = _OTHER.sub("-", ascii_part).strip("-")[:64].strip("-")
        if not cut:
            return None
        parts.append(cut)
    name = "/".join(parts)
    return name if _NAME.fullmatch(name) else None  # e.g. more than 5 folders deep


@dataclass
class _Listing:
    folders: dict[Path, int]  # each folder walked -> its mtime when walked (-1: absent)
    by_name: dict[str, list[str]] = field(default_factory=dict)  # slug -> files, in path order
    unnamed: list[str] = field(default_factory=list)  # files no slug can be made of


class UserWorkflows:
    def __init__(self, root: Path, convert: Converter) -> None:
        self.root = root
        self._convert = convert
        self._listing = _Listing({})
        self._files: dict[str, tuple[tuple[int, int, int], Read]] = {}
        self._reported: set[str] = set()

    def file_of(self, name: str) -> str | None:
        """The file served as `name`, if one is."""
        for relative in self._list().by_name.get(name, []):
            if self._read(relative, name) is not None:
                return relative
        return None

    def load(self, name: str) -> SavedWorkflow:
        for relative in self._list().by_name.get(name, []):
            found = self._read(relative, name)
            if isinstance(found, ConnectError):
                raise found.with_traceback(None)
            if found is not None:
                return found
        raise NotFound(f"no workflow named {name!r}", {"name": name})

    def load_all(self) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
        """The served user workflows, and each problem keyed "user:<file>" (unreadable, clashing, unnamed)."""
        listing = self._list()
        good: list[SavedWorkflow] = []
        bad: dict[str, ConnectError] = {}
        for name, files in listing.by_name.items():
            served = [(relative, found) for relative in files if (found := self._read(relative, name)) is not None]
            for i, (relative, found) in enumerate(served):
                if i > 0:
                    winner = served[0][0]
                    bad[PROBLEM_PREFIX + relative] = self.report(
                        NameClash(
                            f"ComfyUI's workflow {relative!r} would be served as {name!r}, like {winner!r}, which is served under it",
                            {"name": name, "file": relative, "source": "user", "served": winner},
                        )
                    )
                elif isinstance(found, ConnectError):
                    bad[PROBLEM_PREFIX + relative] = found
                else:
                    good.append(found)
        for relative in listing.unnamed:
            if self._read(relative, "") is not None:
                bad[PROBLEM_PREFIX + relative] = self.report(
                    InvalidName(
                        f"ComfyUI's workflow {relative!r} has a # output but no endpoint name can be made of its path"
                        " (letters or digits per part, at most 5 parts): rename it",
                        {"file": relative, "source": "user", "rule": NAME_RULE},
                    )
                )
        return good, bad

    def report(self, error: ConnectError) -> ConnectError:
        """Log a problem found while listing, once (a listing is asked for often)."""
        if error.message not in self._reported:
            self._reported.add(error.message)
            log.warning("ComfyUI-Connect: %s", error.message)
        return error

    def settle(self, problems: dict[str, ConnectError]) -> None:
        """Forget the logged problems that are gone, so one that comes back is logged again."""
        self._reported &= {error.message for error in problems.values()}

    def _list(self) -> _Listing:
        listing = self._listing
        if listing.folders and all(_mtime(folder) == mtime for folder, mtime in listing.folders.items()):
            return listing
        self._listing = listing = _walk(self.root)
        return listing

    def _read(self, relative: str, name: str) -> Read:
        path = self.root / relative
        try:
            st = path.stat()
        except OSError:
            self._files.pop(relative, None)
            return None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        hit = self._files.get(relative)
        if hit and hit[0] == key:
            return hit[1]
        found = self._parse(path, relative, name, st.st_mtime)
        if isinstance(found, ConnectError):
            log.warning("ComfyUI-Connect: ComfyUI's workflow %s is not served: %s", path, found.message)
        self._files[relative] = (key, found)
        return found

    def _parse(self, path: Path, relative: str, name: str, mtime: float) -> Read:
        try:
            document = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None  # not a workflow ComfyUI could open either; nothing marks it as meant to be served
        if _published(document) or not has_output_title(document):
            return None
        saved_at = datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds")
        try:
            return read_plain(document, name, relative, saved_at, self._convert, "user")
        except ConnectError as exc:
            return exc


def _published(document: Any) -> bool:
    extra = document.get("extra") if isinstance(document, dict) else None
    connect = extra.get("connect") if isinstance(extra, dict) else None
    return isinstance(connect, dict) and isinstance(connect.get("endpoint"), str) and bool(connect["endpoint"])


def _mtime(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return -1


def _walk(root: Path) -> _Listing:
    listing = _Listing({root: _mtime(root)})
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        here = Path(folder)
        if here != root:
            listing.folders[here] = _mtime(here)
        for file in sorted(files):
            path = here / file
            if file.startswith(".") or not file.endswith(SUFFIX) or path.is_symlink():
                continue
            relative = path.relative_to(root).as_posix()
            name = slug(relative)
            if name is None:
                listing.unnamed.append(relative)
            else:
                listing.by_name.setdefault(name, []).append(relative)
    return listing
