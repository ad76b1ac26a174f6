"""Every version an endpoint has had, content-addressed, kept beside the store in a hidden folder.

    <root>/.versions/txt2img/3f2a9c...e1.json        one version of "txt2img" (its full sha256 id)
    <root>/.versions/team/upscale/9b01...77.json

A version's id is the sha256 of its canonical prompt (sorted-keys JSON), so saving the same prompt
again is the same version (its record is refreshed: time, source, UI workflow, settings). Ids are shown
shortened like git's (``SHORT``) and any unique prefix of ``MIN_PREFIX`` or more hex digits finds one.
At most ``keep`` versions are kept per endpoint: the oldest go first, never the current one. Deleting
an endpoint keeps its history (a restore can bring it back); the bound prunes it as new versions come.
The files are not endpoints: their folder starts with a dot, which no endpoint name may.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

from ..errors import AmbiguousVersion, BadRequest, NotFound
from .atomic import atomic_write

FOLDER = ".versions"
SHORT = 12  # hex digits shown, like `git log --oneline` shows 7+
MIN_PREFIX = 4  # git's shortest accepted abbreviation
Source = Literal["ui", "api", "folder"]
SOURCES: tuple[str, ...] = get_args(Source)
_HEX = re.compile(r"[0-9a-f]{1,64}")
_ID = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Version:
    id: str
    saved_at: str
    source: Source
    prompt: dict[str, Any]
    workflow: Any = None
    timeout: float | None = None
    metadata: str | None = None

    @property
    def short(self) -> str:
        return self.id[:SHORT]

    def summary(self, current: str | None) -> dict[str, Any]:
        """What the list shows: everything but the prompt and the UI workflow."""
        return {
            "version": self.id,
            "short": self.short,
            "saved_at": self.saved_at,
            "source": self.source,
            "current": self.id == current,
            "timeout": self.timeout,
            "metadata": self.metadata,
            "has_workflow": self.workflow is not None,
        }


def version_id(prompt: Any) -> str:
    """sha256 of the canonical prompt: {"b": 1, "a": 2} and {"a": 2, "b": 1} are one version."""
    canonical = json.dumps(prompt, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")  # two saves in one second still order


class VersionStore:
    def __init__(self, root: Path, keep: int = 50) -> None:
        self.root = root  # the store's root; versions live in root/.versions
        self.keep = keep

    def folder(self, name: str) -> Path:
        # `name` was checked by the store (allow-listed parts, no '..'), so it maps to one folder.
        return self.root.joinpath(FOLDER, *name.split("/"))

    def has(self, name: str, vid: str) -> bool:
        return (self.folder(name) / f"{vid}.json").is_file()

    def record(self, name: str, version: Version) -> Version:
        """Store `version` (replacing the record of the same prompt), then prune past `keep`."""
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        document = {
            "id": version.id,
            "saved_at": version.saved_at,
            "source": version.source,
            "prompt": version.prompt,
            "workflow": version.workflow,
            "timeout": version.timeout,
            "metadata": version.metadata,
        }
        atomic_write(folder / f"{version.id}.json", json.dumps(document, ensure_ascii=False).encode())
        self._prune(name, version.id)
        return version

    def list(self, name: str) -> list[Version]:
        """Newest first; a record that cannot be read is left out (it is never the only truth: the
        endpoint's own file is)."""
        folder = self.folder(name)
        if not folder.is_dir():
            return []
        found = [v for v in (_read(p) for p in folder.glob("*.json") if _ID.fullmatch(p.stem)) if v is not None]
        return sorted(found, key=lambda v: (v.saved_at, v.id), reverse=True)

    def resolve(self, name: str, ref: str) -> Version:
        """The version whose id starts with `ref`: NotFound when none does, AmbiguousVersion when several do."""
        ref = ref.lower()
        if not _HEX.fullmatch(ref) or len(ref) < MIN_PREFIX:
            raise BadRequest(
                f"version {ref!r} is not a version id: give {MIN_PREFIX} to 64 hex digits (a prefix of one)",
                {"path": "version", "value": ref},
            )
        folder = self.folder(name)
        ids = sorted(p.stem for p in folder.glob(f"{ref}*.json") if _ID.fullmatch(p.stem)) if folder.is_dir() else []
        if not ids:
            raise NotFound(f"workflow {name!r} has no version {ref!r}", {"name": name, "version": ref})
        if len(ids) > 1:
            raise AmbiguousVersion(
                f"version {ref!r} of workflow {name!r} is ambiguous: {len(ids)} versions start with it; give more digits",
                {"name": name, "version": ref, "candidates": ids},
            )
        version = _read(folder / f"{ids[0]}.json")
        if version is None:
            raise NotFound(f"version {ids[0][:SHORT]} of workflow {name!r} cannot be read", {"name": name, "version": ids[0]})
        return version

    def _prune(self, name: str, current: str) -> None:
        if sum(1 for p in self.folder(name).glob("*.json") if _ID.fullmatch(p.stem)) <= self.keep:
            return  # the usual case: no record is read
        versions = self.list(name)
        extra = len(versions) - self.keep
        for old in reversed(versions):  # oldest first
            if extra <= 0:
                break
            if old.id != current:
                (self.folder(name) / f"{old.id}.json").unlink(missing_ok=True)
                extra -= 1


def _read(path: Path) -> Version | None:
    try:
        data = json.loads(path.read_bytes())
        source: Source = data["source"] if data.get("source") in SOURCES else "folder"
        timeout = data.get("timeout")
        return Version(
            id=path.stem,
            saved_at=str(data["saved_at"]),
            source=source,
            prompt=data["prompt"],
            workflow=data.get("workflow"),
            timeout=float(timeout) if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else None,
            metadata=data.get("metadata") if isinstance(data.get("metadata"), str) else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
