"""A cluster job's output files: gathered under a cap on the worker, placed and pointed at on the answering
instance, never outside its temp folder, swept once Redis no longer keeps them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from connect.cluster.outputs import FOLDER, file_key, gather, relocate, sweep, write
from connect.comfy.outcome import Outcome
from connect.errors import OutputTooLarge
from connect.io.outputs import FileRef, Item, Value


def test_gather_reads_each_file_once_and_refuses_more_than_the_cap(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.png").write_bytes(b"x" * 10)
    ref = FileRef("a.png", "sub", "output")
    named: dict[str, list[Item]] = {"out": [ref, ref, Value("text", "hi")]}
    assert gather(lambda kind: tmp_path, named, 10) == {file_key(ref): b"x" * 10}
    with pytest.raises(OutputTooLarge) as raised:
        gather(lambda kind: tmp_path, {"out": [ref, FileRef("a.png", "sub", "temp")]}, 15)
    assert "CONNECT_CLUSTER_OUTPUT_MAX_BYTES" in raised.value.message and raised.value.details == {"limit": 15}


def test_placed_copies_are_what_the_result_points_at(tmp_path: Path) -> None:
    ref = FileRef("a.png", "sub", "output")
    write(tmp_path, "job1", 2, {file_key(ref): b"png"})
    result = relocate(
        Outcome("p", {"9": {"images": [{"filename": "a.png", "subfolder": "sub", "type": "output"}], "text": ["t"]}}), "job1", 2
    )
    entry = result.outputs["9"]["images"][0]
    assert entry == {"filename": "a.png", "subfolder": f"{FOLDER}/job1/2/output/sub", "type": "temp"}
    assert (tmp_path / entry["subfolder"] / "a.png").read_bytes() == b"png" and result.outputs["9"]["text"] == ["t"]


def test_a_name_from_redis_never_writes_outside_the_job_folder(tmp_path: Path) -> None:
    write(tmp_path / "temp", "job1", 1, {'["output","../../../..",".bashrc"]': b"evil", '["output","","/etc/x"]': b"evil"})
    assert not (tmp_path / ".bashrc").exists() and sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []


def test_sweep_removes_only_old_job_folders(tmp_path: Path) -> None:
    write(tmp_path, "old", 1, {file_key(FileRef("a.png", "", "output")): b"1"})
    write(tmp_path, "new", 1, {file_key(FileRef("a.png", "", "output")): b"1"})
    hour_ago = time.time() - 3600
    os.utime(tmp_path / FOLDER / "old", (hour_ago, hour_ago))
    assert sweep(tmp_path, 600) == 1
    assert [p.name for p in (tmp_path / FOLDER).iterdir()] == ["new"]
