"""Snapshots of folders, to show what a request wrote, changed or left alone."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def files_in(folder: Path) -> list[str]:
    """Every file under `folder`, as sorted relative paths ([] when there is no folder)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def hashes(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a hash of its content."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[str, int, str]]:
    """Every entry under `root` (symlinks not followed): kind, size and a content hash for files."""
    found: dict[str, tuple[str, int, str]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if any(rel == s or rel.startswith(s) for s in skip):
                continue
            if path.is_symlink():
                found[rel] = ("link", 0, os.readlink(path))
            elif path.is_dir():
                found[rel] = ("dir", 0, "")
            else:
                data = path.read_bytes()
                found[rel] = ("file", len(data), hashlib.sha256(data).hexdigest())
    return found
