from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from connect.errors import AnnotationError, InvalidName, InvalidWorkflow, NotFound, WorkflowCorrupt
from connect.workflow.store import WorkflowStore, check_name
from connect.workflow.versions import FOLDER


def prompt(width: int = 512, title: str = "$size") -> dict[str, Any]:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": width, "height": 64, "batch_size": 1, "color": 0}, "_meta": {"title": title}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}, "_meta": {"title": "#out"}},
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "user" / "connect" / "workflows"


@pytest.fixture
def store(root: Path) -> WorkflowStore:
    return WorkflowStore(root)


def files_under(path: Path) -> list[str]:
    """The endpoints' files (their versions, in the hidden folder, are test_versions.py's)."""
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if not p.is_dir() and FOLDER not in p.relative_to(path).parts)


def width_of(store: WorkflowStore, name: str) -> Any:
    return store.load(name).endpoint.groups["size"].inputs["width"]


# -- names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        pytest.param("txt2img", id="plain"),
        pytest.param("Upscale_x4-v2", id="mixed"),
        pytest.param("team/upscale", id="folder"),
        pytest.param("a/b/c/d/e", id="five-parts"),
        pytest.param("x" * 64, id="64-chars"),
        pytest.param("_", id="underscore"),
    ],
)
def test_allowed_names(store: WorkflowStore, root: Path, name: str) -> None:
    assert check_name(name) == name
    path = store.path_for(name)
    assert path == root.joinpath(*name.split("/")).parent / (name.split("/")[-1] + ".json")
    assert root in path.parents


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("..", id="dotdot"),
        pytest.param(".", id="dot"),
        pytest.param("../escape", id="parent"),
        pytest.param("a/../../b", id="parent-inside"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("a/", id="trailing-slash"),
        pytest.param("/a", id="leading-slash"),
        pytest.param("a//b", id="double-slash"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("C:", id="drive"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\n", id="newline"),
        pytest.param("café", id="unicode"),
        pytest.param("ｔｘｔ", id="fullwidth"),
        pytest.param("١٢٣", id="arabic-digits"),
        pytest.param("a\u200bb", id="zero-width-space"),
        pytest.param("a b", id="space"),
        pytest.param("txt2img.json", id="dot-suffix"),
        pytest.param(".hidden", id="hidden"),
        pytest.param("x" * 65, id="65-chars"),
        pytest.param("a/b/c/d/e/f", id="six-parts"),
        pytest.param("a%2f..", id="percent"),
    ],
)
def test_refused_names(store: WorkflowStore, root: Path, name: str) -> None:
    with pytest.raises(InvalidName) as info:
        check_name(name)
    assert info.value.status == 400
    assert info.value.details["name"] == name
    for call in (store.load, store.delete, lambda n: store.save(n, prompt())):
        with pytest.raises(InvalidName):
            call(name)
    assert not root.exists()


# -- save and load ---------------------------------------------------------------------------------
def test_save_then_load(store: WorkflowStore, root: Path) -> None:
    workflow = {"nodes": [], "links": [], "version": 0.4}
    saved, created = store.save("txt2img", prompt(), workflow)
    assert created is True
    assert saved.name == "txt2img"
    assert saved.endpoint.outputs == {"out": ("2",)}
    loaded = store.load("txt2img")
    assert (loaded.name, loaded.workflow, loaded.saved_at) == ("txt2img", workflow, saved.saved_at)
    assert loaded.endpoint.prompt == prompt()
    document = json.loads((root / "txt2img.json").read_text())
    assert document == {"version": 1, "name": "txt2img", "saved_at": saved.saved_at, "prompt": prompt(), "workflow": workflow}


def test_save_again_replaces(store: WorkflowStore) -> None:
    assert store.save("a", prompt(512))[1] is True
    assert store.save("a", prompt(640))[1] is False
    assert width_of(store, "a") == 640


def test_save_into_folders(store: WorkflowStore, root: Path) -> None:
    store.save("team/upscale", prompt())
    assert (root / "team" / "upscale.json").is_file()
    assert store.names() == ["team/upscale"]
    assert store.load("team/upscale").name == "team/upscale"


def test_save_is_atomic_and_leaves_no_temp_file(store: WorkflowStore, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store.save("a", prompt(512))
    assert files_under(root) == ["a.json"]
    before = (root / "a.json").read_bytes()

    def crash(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        store.save("a", prompt(640))
    monkeypatch.undo()
    assert (root / "a.json").read_bytes() == before
    assert files_under(root) == ["a.json"]
    assert width_of(store, "a") == 512


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        pytest.param({}, InvalidWorkflow, id="empty-prompt"),
        pytest.param(prompt(title="$size("), AnnotationError, id="bad-annotation"),
    ],
)
def test_invalid_prompt_is_not_saved(store: WorkflowStore, root: Path, bad: Any, error: type[Exception]) -> None:
    store.save("a", prompt())
    with pytest.raises(error):
        store.save("a", bad)
    with pytest.raises(error):
        store.save("b", bad)
    assert files_under(root) == ["a.json"]
    assert store.load("a").endpoint.prompt == prompt()


def test_load_unknown_is_404(store: WorkflowStore) -> None:
    with pytest.raises(NotFound) as info:
        store.load("nope")
    assert (info.value.status, info.value.details) == (404, {"name": "nope"})


def test_folder_is_not_a_workflow(store: WorkflowStore) -> None:
    store.save("team/a", prompt())
    with pytest.raises(NotFound):
        store.load("team")


# -- changes on disk -------------------------------------------------------------------------------
def test_unchanged_file_is_not_parsed_again(store: WorkflowStore) -> None:
    store.save("a", prompt())
    assert store.load("a") is store.load("a")


def test_file_changed_on_disk_is_reloaded(store: WorkflowStore, root: Path) -> None:
    store.save("a", prompt(512))
    assert width_of(store, "a") == 512
    path = root / "a.json"
    document = json.loads(path.read_text())
    document["prompt"]["1"]["inputs"]["width"] = 640  # same length: only the content changes
    path.write_text(json.dumps(document))
    assert width_of(store, "a") == 640


def test_file_added_and_removed_on_disk(store: WorkflowStore, root: Path) -> None:
    store.save("a", prompt())
    (root / "copied").mkdir()
    (root / "copied" / "b.json").write_text(json.dumps({"prompt": prompt(320)}))
    assert store.names() == ["a", "copied/b"]
    assert width_of(store, "copied/b") == 320
    assert store.load("copied/b").saved_at == ""
    (root / "copied" / "b.json").unlink()
    with pytest.raises(NotFound):
        store.load("copied/b")
    assert store.names() == ["a"]


# -- corrupt files ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"{", "Expecting property name", id="truncated"),
        pytest.param(b"", "Expecting value", id="empty"),
        pytest.param(b"[]", "not an object with a 'prompt'", id="array"),
        pytest.param(b'{"workflow": {}}', "not an object with a 'prompt'", id="no-prompt"),
        pytest.param(b'{"prompt": []}', "non-empty object", id="prompt-not-object"),
        pytest.param(json.dumps({"prompt": prompt(title="$a(")}).encode(), "never closed", id="bad-annotation"),
        pytest.param(b'{"prompt": "\xff"}', "", id="not-utf8"),
    ],
)
def test_corrupt_file_only_breaks_its_own_name(store: WorkflowStore, root: Path, content: bytes, reason: str) -> None:
    store.save("good", prompt())
    (root / "bad.json").write_bytes(content)
    with pytest.raises(WorkflowCorrupt) as info:
        store.load("bad")
    assert info.value.status == 500
    assert info.value.details == {"name": "bad"}
    assert "the stored file of workflow 'bad' cannot be used" in info.value.message
    assert reason in info.value.message
    assert store.load("good").name == "good"
    good, bad = store.load_all()
    assert [w.name for w in good] == ["good"]
    assert list(bad) == ["bad"]
    assert isinstance(bad["bad"], WorkflowCorrupt)


def test_corrupt_file_fixed_on_disk_loads_again(store: WorkflowStore, root: Path) -> None:
    (root).mkdir(parents=True)
    (root / "a.json").write_text("{")
    with pytest.raises(WorkflowCorrupt):
        store.load("a")
    (root / "a.json").write_text(json.dumps({"prompt": prompt()}))
    assert store.load("a").endpoint.prompt == prompt()


def test_unreadable_entry_only_breaks_its_own_name(store: WorkflowStore, root: Path) -> None:
    store.save("good", prompt())
    (root / "odd.json").mkdir()  # a folder named like a workflow file
    good, bad = store.load_all()
    assert [w.name for w in good] == ["good"]
    assert list(bad) == ["odd"]
    assert isinstance(bad["odd"], WorkflowCorrupt)
    assert "Is a directory" in bad["odd"].message


# -- symlinks --------------------------------------------------------------------------------------
def test_symlinked_folder_inside_the_store_is_refused(store: WorkflowStore, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.json").write_text(json.dumps({"prompt": prompt()}))
    root.mkdir(parents=True)
    (root / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidName, match="symbolic link"):
        store.load("linked/x")
    with pytest.raises(InvalidName, match="symbolic link"):
        store.save("linked/y", prompt())
    with pytest.raises(InvalidName, match="symbolic link"):
        store.delete("linked/x")
    assert sorted(p.name for p in outside.iterdir()) == ["x.json"]
    assert store.names() == []


def test_symlinked_file_inside_the_store_is_refused(store: WorkflowStore, root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"prompt": prompt()}))
    root.mkdir(parents=True)
    (root / "evil.json").symlink_to(secret)
    with pytest.raises(InvalidName, match="symbolic link"):
        store.load("evil")
    with pytest.raises(InvalidName, match="symbolic link"):
        store.save("evil", prompt(640))
    assert json.loads(secret.read_text()) == {"prompt": prompt()}
    assert store.names() == []
    assert store.load_all() == ([], {})


def test_the_store_root_itself_may_be_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    store = WorkflowStore(tmp_path / "link")
    store.save("a", prompt())
    assert (real / "a.json").is_file()
    assert store.names() == ["a"]


# -- delete, names, load_all -----------------------------------------------------------------------
def test_delete(store: WorkflowStore, root: Path) -> None:
    store.save("a", prompt())
    store.load("a")
    store.delete("a")
    assert not (root / "a.json").exists()
    with pytest.raises(NotFound):
        store.load("a")
    with pytest.raises(NotFound) as info:
        store.delete("a")
    assert info.value.status == 404


def test_delete_unknown_is_404(store: WorkflowStore) -> None:
    with pytest.raises(NotFound, match="no workflow named 'nope'"):
        store.delete("nope")


def test_names_lists_only_allowed_json_files(store: WorkflowStore, root: Path) -> None:
    store.save("b", prompt())
    store.save("a/c", prompt())
    for junk in [".b.json.abc.tmp", "notes.txt", "has space.json", "dotted.name.json", "a/b/c/d/e/too-deep.json"]:
        (root / junk).parent.mkdir(parents=True, exist_ok=True)
        (root / junk).write_text("{}")
    assert store.names() == ["a/c", "b"]


def test_load_all_without_a_store_folder(store: WorkflowStore) -> None:
    assert store.names() == []
    assert store.load_all() == ([], {})


def test_load_all_returns_every_good_workflow_sorted(store: WorkflowStore) -> None:
    for name in ["zeta", "alpha", "team/mid"]:
        store.save(name, prompt())
    good, bad = store.load_all()
    assert [w.name for w in good] == ["alpha", "team/mid", "zeta"]
    assert bad == {}


def test_raw_bytes_copy_a_workflow_exactly_and_remove_is_quiet_when_absent(store: WorkflowStore, tmp_path: Path) -> None:
    # What a cluster does: another instance's file, byte for byte, into this store.
    store.save("team/a", prompt(width=64))
    data = store.raw("team/a")
    assert data is not None and store.raw("missing") is None
    other = WorkflowStore(tmp_path / "other")
    other.write_raw("team/a", data)
    assert other.raw("team/a") == data and width_of(other, "team/a") == 64
    other.write_raw("team/a", store.raw("team/a") or b"")  # replacing is atomic and re-read
    assert other.remove("team/a") is True and other.remove("team/a") is False
    with pytest.raises(NotFound):
        other.load("team/a")
