"""How long stored input files live (io/retention.py) and a full disk while storing one (io/inputs.py)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from connect.errors import Unavailable
from connect.io.inputs import FileLimits, InputFiles, UploadWriter
from connect.io.retention import SUBFOLDER, Retention, named_files

HOUR = 3600.0


def stored(folder: Path, name: str, size: int, age: float, now: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"x" * size)
    os.utime(path, (now - age, now - age))
    return path


def name(n: int, ext: str = "png") -> str:
    return f"connect-{n:032x}.{ext}"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "input" / SUBFOLDER


def test_expired_files_go_unless_a_queued_prompt_names_them(folder: Path) -> None:
    now = 1_000_000.0
    old, used, fresh = (stored(folder, name(i), 10, age, now) for i, age in enumerate((2 * HOUR, 2 * HOUR, 60)))
    in_use = {f"{SUBFOLDER}/{used.name}"}
    assert Retention(folder, HOUR, 10**9, lambda: in_use).sweep(now) == 1
    assert not old.exists() and used.exists() and fresh.exists()


def test_over_the_cap_the_oldest_unused_go_first(folder: Path) -> None:
    now = 1_000_000.0
    files = [stored(folder, name(i), 100, age, now) for i, age in enumerate((500, 400, 300, 200, 5))]
    in_use = {f"{SUBFOLDER}/{files[0].name}"}
    # 500 bytes, cap 300: the oldest unused (1, 2) go; 0 is in use; 4 was stored 5 s ago (about to be queued).
    assert Retention(folder, HOUR, 300, lambda: in_use).sweep(now) == 2
    assert [f.exists() for f in files] == [True, False, False, True, True]


def test_files_put_there_by_hand_are_never_touched(folder: Path, tmp_path: Path) -> None:
    now = 1_000_000.0
    mine = [stored(folder, n, 10, 10 * HOUR, now) for n in ("holiday.png", "connect-abc.png", name(1).upper())]
    top = stored(tmp_path / "input", name(2), 10, 10 * HOUR, now)  # outside the subfolder: not the plugin's
    assert Retention(folder, HOUR, 1, set).sweep(now) == 0
    assert all(p.exists() for p in (*mine, top))


def test_a_missing_folder_is_nothing_to_sweep(folder: Path) -> None:
    assert Retention(folder, HOUR, 1, set).sweep() == 0


def test_named_files_reads_string_inputs_of_queued_prompts() -> None:
    prompts: list[dict[str, Any]] = [
        {"1": {"class_type": "LoadImage", "inputs": {"image": f"{SUBFOLDER}/{name(1)}", "upload": "image"}}},
        {"x": "odd"},
    ]
    assert named_files(prompts) == {f"{SUBFOLDER}/{name(1)}"}


def test_sent_again_a_file_starts_a_new_lifetime(tmp_path: Path) -> None:
    files = InputFiles(tmp_path, FileLimits())
    first = asyncio.run(files.resolve("a.b", {"type": "file", "content": "aGVsbG8=", "name": "a.txt"}))
    path = tmp_path / first
    os.utime(path, (1.0, 1.0))
    again = asyncio.run(files.resolve("a.b", {"type": "file", "content": "aGVsbG8=", "name": "a.txt"}))
    assert again == first and path.stat().st_mtime > HOUR


def test_listed_loaders_get_the_file_at_the_top_level(tmp_path: Path) -> None:
    files = InputFiles(tmp_path, FileLimits())
    stored_name = asyncio.run(files.resolve("a.b", {"type": "file", "content": "aGVsbG8=", "name": "a.txt"}, listed=True))
    assert "/" not in stored_name and (tmp_path / stored_name).is_file()


def test_a_full_disk_is_503_and_leaves_nothing(tmp_path: Path) -> None:
    writer = UploadWriter(tmp_path)
    writer._handle.close()
    writer._handle = open("/dev/full", "wb")  # noqa: SIM115 - the kernel's own "no space left on device"
    with pytest.raises(Unavailable, match=r"disk .* is full") as caught:
        writer.write(b"x" * (1 << 20))
        writer.finish(None)
    assert caught.value.details == {"reason": "disk_full", "folder": tmp_path.name}
    assert list(tmp_path.iterdir()) == []
