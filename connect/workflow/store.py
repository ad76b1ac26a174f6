"""Saved workflows on disk: one JSON file per endpoint under ComfyUI's user directory.

    <root>/txt2img.json            endpoint "txt2img"
    <root>/team/upscale.json       endpoint "team/upscale"

Writes are atomic (temp file + fsync + rename), so a crash never leaves half a file. Reads are
cached by the file's (mtime, size, inode) and re-parsed when it changes, so files edited or copied in
by hand are picked up without a restart. A corrupt file only breaks its own endpoint.

A file there that is not our envelope but a plain workflow (what ComfyUI's Ctrl+S or "Export (API)"
writes) is read by the `plain` reader (workflow/plain.py), so the folder can be a git checkout of
workflow files. Such a file is the source of truth: saving or deleting its name through the API is
refused (409) instead of rewriting the user's file in another format. Failed reads are cached by stat
too (a broken file is not re-read, nor a UI file reconverted, on every call) and logged once per change.
Dot-folders (.git) and dot-files are ignored; a .json file whose path cannot be a name is reported.

``Workflows`` is the interface a store implements (a shared one keeps them in a database);
``WorkflowStore`` is the on-disk one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from ..errors import ConnectError, InvalidName, NotFound, ReadOnlyWorkflow, WorkflowCorrupt
from .atomic import atomic_write
from .endpoint import Endpoint, parse_endpoint
from .versions import Source as VersionSource
from .versions import Version, VersionStore, version_id
from .versions import now as version_time

NAME_RULE = r"[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,4}"
_NAME = re.compile(NAME_RULE)
SUFFIX = ".json"
# What the endpoint's outputs embed about how they were made (io/embed.py); None: the server's setting.
Metadata = Literal["none", "prompt", "workflow", "full"]
METADATA_MODES: tuple[str, ...] = get_args(Metadata)
# Where an endpoint comes from: saved through the API or the UI menu, a plain file in the workflows
# folder, or one of ComfyUI's own saved workflows (workflow/userflows.py).
Source = Literal["api", "folder", "user"]
log = logging.getLogger("comfyui-connect")


@dataclass(frozen=True)
class SavedWorkflow:
    name: str
    endpoint: Endpoint
    workflow: Any
    saved_at: str
    timeout: float | None = None  # the workflow's own execution timeout (seconds), if its author set one
    metadata: Metadata | None = None  # what its outputs embed, if its author chose (else CONNECT_METADATA)
    version: str | None = None  # the id of its prompt's version (versions.py)
    source: Source = "api"
    file: str = ""  # a plain file's path relative to its folder ("" for one saved through the API)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidName(
            f"invalid workflow name {name!r}: use 1-64 letters, digits, '-' or '_' per part, parts separated by '/' (at most 5)",
            {"name": name, "rule": NAME_RULE},
        )
    return name


class Workflows(Protocol):
    def check(self, name: str) -> None:
        """Refuse (InvalidName) a name this store cannot hold, before anything is read or written."""

    def save(
        self, name: str, prompt: Any, workflow: Any = None, timeout: float | None = None, metadata: Metadata | None = None
    ) -> tuple[SavedWorkflow, bool]:
        """The saved workflow, and whether it is new; InvalidWorkflow when `prompt` is not one."""

    def load(self, name: str) -> SavedWorkflow:
        """NotFound, or WorkflowCorrupt when what is stored cannot be used."""

    def peek(self, name: str) -> SavedWorkflow | None:
        """`load(name)` if that is only a cache hit (stats, no read): what the event loop may call; else None."""

    def delete(self, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def load_all(self) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
        """Every saved workflow that loads, and the error of each one that does not."""


# Reads a plain workflow file (not our envelope) as an endpoint: (document, name, file, saved_at).
PlainReader = Callable[[Any, str, str, str], SavedWorkflow]


class WorkflowStore:
    def __init__(self, root: Path, keep_versions: int = 50, plain: PlainReader | None = None, versions: Path | None = None) -> None:
        self.root = root
        self.plain = plain
        # Beside the endpoints by default; elsewhere when the folder is the user's own (a git checkout).
        self.versions = VersionStore(versions or root, keep_versions)
        self._cache: dict[str, tuple[tuple[int, int, int], SavedWorkflow]] = {}
        self._failed: dict[str, tuple[tuple[int, int, int], ConnectError]] = {}
        self._unnamed_logged: set[str] = set()

    def path_for(self, name: str) -> Path:
        parts = check_name(name).split("/")
        path = self.root.joinpath(*parts).with_suffix(SUFFIX)
        # The allow-list already rules out '..'; this also refuses symlinked folders or files
        # that would lead outside the store. Only what lies inside the store is checked (built from
        # the name's parts: walking path.parents and comparing paths cost ~0.2 ms on every call).
        inside = [self.root.joinpath(*parts[:depth]) for depth in range(1, len(parts))] + [path]
        if any(p.is_symlink() for p in inside):
            raise InvalidName(f"workflow {name!r} is a symbolic link inside the store, which is refused", {"name": name})
        return path

    def check(self, name: str) -> None:
        self.path_for(name)

    def save(
        self, name: str, prompt: Any, workflow: Any = None, timeout: float | None = None, metadata: Metadata | None = None
    ) -> tuple[SavedWorkflow, bool]:
        endpoint = parse_endpoint(prompt)
        path = self.path_for(name)
        self._refuse_plain(name, path)
        vid = version_id(prompt)
        saved = SavedWorkflow(name, endpoint, workflow, datetime.now(timezone.utc).isoformat(timespec="seconds"), timeout, metadata, vid)
        document = {"version": 1, "name": name, "saved_at": saved.saved_at, "prompt": prompt, "workflow": workflow}
        if timeout is not None:
            document["timeout"] = timeout
        if metadata is not None:
            document["metadata"] = metadata
        created = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(document, ensure_ascii=False).encode())
        source: VersionSource = "ui" if workflow is not None else "api"
        self.versions.record(name, Version(vid, version_time(), source, prompt, workflow, timeout, metadata))
        return saved, created

    def load(self, name: str) -> SavedWorkflow:
        path = self.path_for(name)
        try:
            st = path.stat()
        except FileNotFoundError:
            self._cache.pop(name, None)
            self._failed.pop(name, None)
            raise NotFound(f"no workflow named {name!r}", {"name": name}) from None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        hit = self._cache.get(name)
        if hit and hit[0] == key:
            return hit[1]
        failed = self._failed.get(name)
        if failed and failed[0] == key:
            raise failed[1].with_traceback(None)  # the same error until the file changes
        try:
            saved = _read(path, name, self.plain, st.st_mtime)
        except ConnectError as exc:
            self._failed[name] = (key, exc)
            log.warning("ComfyUI-Connect: workflow file %s is not served: %s", path, exc.message)
            raise
        self._failed.pop(name, None)
        self._cache[name] = (key, saved)
        self._version_of_disk(saved)
        return saved

    def peek(self, name: str) -> SavedWorkflow | None:
        try:
            st = self.path_for(name).stat()
        except (OSError, InvalidName):
            return None  # load() says why
        hit = self._cache.get(name)
        return hit[1] if hit and hit[0] == (st.st_mtime_ns, st.st_size, st.st_ino) else None

    def _version_of_disk(self, saved: SavedWorkflow) -> None:
        """A file changed by hand (or copied in, or by another instance) is a version too, of source "folder"."""
        if saved.version is None or self.versions.has(saved.name, saved.version):
            return
        version = Version(saved.version, version_time(), "folder", saved.endpoint.prompt, saved.workflow, saved.timeout, saved.metadata)
        with contextlib.suppress(OSError):  # a read-only folder: the endpoint still serves, unversioned
            self.versions.record(saved.name, version)

    def delete(self, name: str) -> None:
        path = self.path_for(name)
        self._refuse_plain(name, path)
        self._unlink(name, path)

    def _unlink(self, name: str, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"no workflow named {name!r}", {"name": name}) from None
        self._cache.pop(name, None)

    def raw(self, name: str) -> bytes | None:
        """The stored file's bytes as they are (a cluster copies them verbatim); None if there is none."""
        try:
            return self.path_for(name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def write_raw(self, name: str, data: bytes) -> None:
        """Store bytes another instance saved, atomically (they were validated where they were saved)."""
        path = self.path_for(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
        self._cache.pop(name, None)

    def remove(self, name: str) -> bool:
        """Delete if present; whether there was something to delete."""
        try:
            self._unlink(name, self.path_for(name))  # a cluster mirrors any file, plain ones too
        except NotFound:
            return False
        return True

    def sweep(self) -> int:
        """Remove temp files left by a process killed mid-save (the saved files are never partial)."""
        stale = list(self.root.rglob(".*" + SUFFIX + ".*.tmp")) if self.root.is_dir() else []
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def _refuse_plain(self, name: str, path: Path) -> None:
        """A plain file is its folder's (e.g. a git checkout): the API neither rewrites nor deletes it."""
        if self.plain is None:
            return
        try:
            document = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return  # absent, a folder, or not JSON: nothing a user wrote that could be lost
        if not is_envelope(document) and plain_kind(document) is not None:
            raise ReadOnlyWorkflow(
                f"workflow {name!r} is the plain file {path.relative_to(self.root).as_posix()!r} in the workflows folder"
                " (CONNECT_WORKFLOWS_DIR), which is its source: change or delete that file (e.g. with git) instead",
                {"name": name, "source": "folder"},
            )

    def names(self) -> list[str]:
        return self._walk()[0]

    def _walk(self) -> tuple[list[str], dict[str, ConnectError]]:
        if not self.root.is_dir():
            return [], {}
        found: list[str] = []
        unnamed: dict[str, ConnectError] = {}
        for path in _json_paths(self.root):
            relative = path.relative_to(self.root)
            name = relative.with_suffix("").as_posix()
            if _NAME.fullmatch(name):
                found.append(name)
            elif path.is_file():
                unnamed[name] = InvalidName(
                    f"the file {relative.as_posix()!r} cannot be served: its path is not a workflow name"
                    " (1-64 letters, digits, '-' or '_' per part, at most 5 parts)",
                    {"name": name, "file": relative.as_posix(), "rule": NAME_RULE},
                )
                if name not in self._unnamed_logged:
                    self._unnamed_logged.add(name)
                    log.warning("ComfyUI-Connect: %s", unnamed[name].message)
        return sorted(found), unnamed

    def load_all(self) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
        """Every saved workflow that loads, and the error of each one that does not (or cannot be named)."""
        names, unnamed = self._walk()
        good: list[SavedWorkflow] = []
        bad: dict[str, ConnectError] = dict(unnamed)
        for name in names:
            try:
                good.append(self.load(name))
            except ConnectError as exc:
                bad[name] = exc
        return good, bad


def _json_paths(root: Path) -> list[Path]:
    """Every "*.json" under `root` (folders so named too: they are reported), not entering hidden folders:
    a git checkout's .git holds thousands of files a listing must not walk. Symbolic links are skipped."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]  # .git; temp files of an atomic write
        here = Path(folder)
        for entry in [*subfolders, *files]:
            if entry.endswith(SUFFIX) and not entry.startswith(".") and not (here / entry).is_symlink():
                found.append(here / entry)
    return found


def is_envelope(document: Any) -> bool:
    """Our saved form ({"prompt": ..., "workflow": ...}), not a plain prompt that has a node with id "prompt"."""
    return isinstance(document, dict) and "prompt" in document and not _is_node(document["prompt"])


def plain_kind(document: Any) -> Literal["ui", "api"] | None:
    """Which plain workflow format `document` is in (what ComfyUI's Ctrl+S or "Export (API)" writes), if any."""
    if isinstance(document, dict) and isinstance(document.get("nodes"), list):
        return "ui"
    if isinstance(document, dict) and document and all(_is_node(n) for n in document.values()):
        return "api"
    return None


def _is_node(value: Any) -> bool:
    return isinstance(value, dict) and "class_type" in value


def _read(path: Path, name: str, plain: PlainReader | None = None, mtime: float = 0.0) -> SavedWorkflow:
    try:
        document = json.loads(path.read_bytes())
        if plain is not None and not is_envelope(document):
            # The reader raises its own errors (it names the file, the format and why).
            return plain(document, name, name + SUFFIX, datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds"))
        if not isinstance(document, dict) or "prompt" not in document:
            raise ValueError("not an object with a 'prompt'")
        endpoint = parse_endpoint(document["prompt"])
        timeout = check_timeout(document.get("timeout"))
        metadata = check_metadata(document.get("metadata"))
    # OSError: a folder named like a workflow, an unreadable file... must break only this endpoint,
    # not every listing and run that reads all workflows (`load_all`).
    except (OSError, ValueError, UnicodeDecodeError, ConnectError) as exc:
        if isinstance(exc, (WorkflowCorrupt, NotFound)):
            raise  # the plain reader's own error, which names the file and why
        reason = exc.message if isinstance(exc, ConnectError) else str(exc)
        raise WorkflowCorrupt(f"the stored file of workflow {name!r} cannot be used: {reason}", {"name": name}) from exc
    saved_at = str(document.get("saved_at", ""))
    return SavedWorkflow(name, endpoint, document.get("workflow"), saved_at, timeout, metadata, version_id(document["prompt"]))


def check_timeout(value: Any) -> float | None:
    """A workflow's own timeout: None, or a positive number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"'timeout' must be a positive number of seconds or null, not {value!r}")
    return float(value)


def check_metadata(value: Any) -> Metadata | None:
    """A workflow's own metadata mode: None (the server's) or one of METADATA_MODES."""
    if value is None or value in METADATA_MODES:
        return value  # type: ignore[no-any-return]
    raise ValueError(f"'metadata' must be one of {', '.join(METADATA_MODES)} or null, not {value!r}")
