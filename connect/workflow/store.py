"""Saved workflows on disk: one JSON file per endpoint under ComfyUI's user directory.

    <root>/txt2img.json            endpoint "txt2img"
    <root>/team/upscale.json       endpoint "team/upscale"

Writes are atomic (temp file + fsync + rename), so a crash never leaves half a file. Reads are
cached by the file's (mtime, size, inode) and re-parsed when it changes, so files edited or copied in
by hand are picked up without a restart. A corrupt file only breaks its own endpoint.

``Workflows`` is the interface a store implements (a shared one keeps them in a database);
``WorkflowStore`` is the on-disk one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from ..errors import ConnectError, InvalidName, NotFound, WorkflowCorrupt
from .endpoint import Endpoint, parse_endpoint
from .versions import Source, Version, VersionStore, version_id
from .versions import now as version_time

NAME_RULE = r"[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,4}"
_NAME = re.compile(NAME_RULE)
SUFFIX = ".json"
# What the endpoint's outputs embed about how they were made (io/embed.py); None: the server's setting.
Metadata = Literal["none", "prompt", "workflow", "full"]
METADATA_MODES: tuple[str, ...] = get_args(Metadata)


@dataclass(frozen=True)
class SavedWorkflow:
    name: str
    endpoint: Endpoint
    workflow: Any
    saved_at: str
    timeout: float | None = None  # the workflow's own execution timeout (seconds), if its author set one
    metadata: Metadata | None = None  # what its outputs embed, if its author chose (else CONNECT_METADATA)
    version: str | None = None  # the id of its prompt's version (versions.py)


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

    def delete(self, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def load_all(self) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
        """Every saved workflow that loads, and the error of each one that does not."""


class WorkflowStore:
    def __init__(self, root: Path, keep_versions: int = 50) -> None:
        self.root = root
        self.versions = VersionStore(root, keep_versions)
        self._cache: dict[str, tuple[tuple[int, int, int], SavedWorkflow]] = {}

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
        vid = version_id(prompt)
        saved = SavedWorkflow(name, endpoint, workflow, datetime.now(timezone.utc).isoformat(timespec="seconds"), timeout, metadata, vid)
        document = {"version": 1, "name": name, "saved_at": saved.saved_at, "prompt": prompt, "workflow": workflow}
        if timeout is not None:
            document["timeout"] = timeout
        if metadata is not None:
            document["metadata"] = metadata
        created = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, json.dumps(document, ensure_ascii=False).encode())
        source: Source = "ui" if workflow is not None else "api"
        self.versions.record(name, Version(vid, version_time(), source, prompt, workflow, timeout, metadata))
        return saved, created

    def load(self, name: str) -> SavedWorkflow:
        path = self.path_for(name)
        try:
            st = path.stat()
        except FileNotFoundError:
            self._cache.pop(name, None)
            raise NotFound(f"no workflow named {name!r}", {"name": name}) from None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        hit = self._cache.get(name)
        if hit and hit[0] == key:
            return hit[1]
        saved = _read(path, name)
        self._cache[name] = (key, saved)
        self._version_of_disk(saved)
        return saved

    def _version_of_disk(self, saved: SavedWorkflow) -> None:
        """A file changed by hand (or copied in, or by another instance) is a version too, of source "folder"."""
        if saved.version is None or self.versions.has(saved.name, saved.version):
            return
        version = Version(saved.version, version_time(), "folder", saved.endpoint.prompt, saved.workflow, saved.timeout, saved.metadata)
        with contextlib.suppress(OSError):  # a read-only folder: the endpoint still serves, unversioned
            self.versions.record(saved.name, version)

    def delete(self, name: str) -> None:
        path = self.path_for(name)
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
        _atomic_write(path, data)
        self._cache.pop(name, None)

    def remove(self, name: str) -> bool:
        """Delete if present; whether there was something to delete."""
        try:
            self.delete(name)
        except NotFound:
            return False
        return True

    def sweep(self) -> int:
        """Remove temp files left by a process killed mid-save (the saved files are never partial)."""
        stale = list(self.root.rglob(".*" + SUFFIX + ".*.tmp")) if self.root.is_dir() else []
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = []
        for path in _json_files(self.root):
            name = path.relative_to(self.root).with_suffix("").as_posix()
            if _NAME.fullmatch(name) and not path.is_symlink():
                found.append(name)
        return sorted(found)

    def load_all(self) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
        """Every saved workflow that loads, and the error of each one that does not."""
        good, bad = [], {}
        for name in self.names():
            try:
                good.append(self.load(name))
            except ConnectError as exc:
                bad[name] = exc
        return good, bad


def _json_files(root: Path) -> Iterator[Path]:
    """Like root.rglob("*.json"), without entering hidden folders: the versions (versions.py) are no
    endpoints, and walking 50 per endpoint made every listing ten times slower."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield from (Path(folder, f) for f in (*files, *dirs) if f.endswith(SUFFIX))  # a folder named so is listed (and fails)


def _read(path: Path, name: str) -> SavedWorkflow:
    try:
        document = json.loads(path.read_bytes())
        if not isinstance(document, dict) or "prompt" not in document:
            raise ValueError("not an object with a 'prompt'")
        endpoint = parse_endpoint(document["prompt"])
        timeout = check_timeout(document.get("timeout"))
        metadata = check_metadata(document.get("metadata"))
    # OSError: a folder named like a workflow, an unreadable file... must break only this endpoint,
    # not every listing and run that reads all workflows (`load_all`).
    except (OSError, ValueError, UnicodeDecodeError, ConnectError) as exc:
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


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
