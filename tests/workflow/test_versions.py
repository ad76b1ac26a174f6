from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from connect.errors import AmbiguousVersion, BadRequest, NotFound
from connect.workflow.store import WorkflowStore
from connect.workflow.versions import FOLDER, SHORT, Version, VersionStore, version_id


def prompt(width: int = 512, title: str = "$size") -> dict[str, Any]:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": width, "height": 64, "batch_size": 1, "color": 0}, "_meta": {"title": title}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}, "_meta": {"title": "#out"}},
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workflows"


@pytest.fixture
def store(root: Path) -> WorkflowStore:
    return WorkflowStore(root, keep_versions=5)


def ids(store: WorkflowStore, name: str) -> list[str]:
    return [v.id for v in store.versions.list(name)]


def version(vid: str, saved_at: str = "2026-01-01T00:00:00+00:00") -> Version:
    return Version(vid, saved_at, "api", prompt())


# -- ids -------------------------------------------------------------------------------------------
def test_the_id_is_the_sha256_of_the_canonical_prompt() -> None:
    canonical = json.dumps(prompt(), sort_keys=True, separators=(",", ":"))
    assert version_id(prompt()) == hashlib.sha256(canonical.encode()).hexdigest()


def test_key_order_does_not_change_the_id() -> None:
    reordered = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(prompt().items()))}
    assert version_id(reordered) == version_id(prompt())
    assert version_id(prompt(513)) != version_id(prompt())


# -- saving keeps versions ---------------------------------------------------------------------------
def test_every_save_of_a_new_prompt_is_a_version_newest_first(store: WorkflowStore) -> None:
    first, _ = store.save("a", prompt(1))
    second, _ = store.save("a", prompt(2), workflow={"nodes": []})
    assert first.version == version_id(prompt(1)) and second.version == version_id(prompt(2))
    versions = store.versions.list("a")
    assert [v.id for v in versions] == [second.version, first.version]
    assert [v.source for v in versions] == ["ui", "api"]
    assert versions[0].workflow == {"nodes": []} and versions[1].prompt == prompt(1)


def test_the_same_prompt_saved_again_is_one_version_refreshed(store: WorkflowStore) -> None:
    store.save("a", prompt(1))
    store.save("a", prompt(2))
    store.save("a", prompt(1), timeout=9.0)
    versions = store.versions.list("a")
    assert [v.id for v in versions] == [version_id(prompt(1)), version_id(prompt(2))]
    assert versions[0].timeout == 9.0


def test_versions_keep_settings_needed_to_restore(store: WorkflowStore) -> None:
    store.save("a", prompt(1), {"nodes": [1]}, 12.5, "full")
    kept = store.versions.list("a")[0]
    assert (kept.workflow, kept.timeout, kept.metadata, kept.source) == ({"nodes": [1]}, 12.5, "full", "ui")


def test_a_file_changed_on_disk_becomes_a_folder_version_when_read(store: WorkflowStore, root: Path) -> None:
    store.save("a", prompt(1))
    path = root / "a.json"
    document = json.loads(path.read_text())
    document["prompt"] = prompt(7)
    path.write_text(json.dumps(document))
    os.utime(path, ns=(1, 1))  # a stat the cache has not seen, even within one clock tick
    loaded = store.load("a")
    assert loaded.version == version_id(prompt(7))
    versions = store.versions.list("a")
    assert (versions[0].id, versions[0].source) == (version_id(prompt(7)), "folder")
    assert len(versions) == 2
    store.load("a")
    assert len(store.versions.list("a")) == 2  # read again: no new version


def test_a_file_copied_in_is_versioned_once(store: WorkflowStore, root: Path) -> None:
    (root / "team").mkdir(parents=True)
    (root / "team" / "x.json").write_text(json.dumps({"prompt": prompt(3)}))
    assert store.load("team/x").version == version_id(prompt(3))
    assert [(v.id, v.source) for v in store.versions.list("team/x")] == [(version_id(prompt(3)), "folder")]
    assert store.versions.list("team") == []


def test_versions_are_not_endpoints(store: WorkflowStore) -> None:
    store.save("a", prompt(1))
    store.save("team/b", prompt(2))
    assert store.names() == ["a", "team/b"]
    good, bad = store.load_all()
    assert [w.name for w in good] == ["a", "team/b"] and bad == {}


def test_delete_keeps_the_history(store: WorkflowStore) -> None:
    store.save("a", prompt(1))
    store.delete("a")
    assert ids(store, "a") == [version_id(prompt(1))]


def test_a_folder_that_cannot_be_written_still_serves(store: WorkflowStore, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root.mkdir(parents=True)
    (root / "a.json").write_text(json.dumps({"prompt": prompt(3)}))

    def refuse(*args: Any) -> Version:
        raise PermissionError("read-only")

    monkeypatch.setattr(store.versions, "record", refuse)
    assert store.load("a").version == version_id(prompt(3))


# -- the bound ---------------------------------------------------------------------------------------
def test_the_oldest_versions_go_past_the_bound(store: WorkflowStore) -> None:
    for width in range(1, 9):
        store.save("a", prompt(width))
    assert ids(store, "a") == [version_id(prompt(w)) for w in range(8, 3, -1)]


def test_the_current_version_is_never_pruned(root: Path) -> None:
    versions = VersionStore(root, keep=2)
    current = "c" * 64
    versions.record("a", version("a" * 64, "2026-01-03T00:00:00+00:00"))
    versions.record("a", version("b" * 64, "2026-01-02T00:00:00+00:00"))
    versions.record("a", version(current, "2026-01-01T00:00:00+00:00"))  # oldest by time, yet just saved
    assert sorted(v.id for v in versions.list("a")) == ["a" * 64, current]


def test_no_temp_file_is_left(store: WorkflowStore, root: Path) -> None:
    store.save("a", prompt(1))
    assert [p.name for p in (root / FOLDER / "a").iterdir()] == [f"{version_id(prompt(1))}.json"]


def test_an_unreadable_record_is_left_out(store: WorkflowStore, root: Path) -> None:
    store.save("a", prompt(1))
    (root / FOLDER / "a" / ("f" * 64 + ".json")).write_text("{not json")
    assert ids(store, "a") == [version_id(prompt(1))]


# -- finding one -------------------------------------------------------------------------------------
def test_a_version_is_found_by_its_id_or_a_prefix(store: WorkflowStore) -> None:
    store.save("a", prompt(1))
    vid = version_id(prompt(1))
    assert store.versions.resolve("a", vid).id == vid
    assert store.versions.resolve("a", vid[:SHORT]).id == vid
    assert store.versions.resolve("a", vid[:4].upper()).id == vid


def test_an_ambiguous_prefix_lists_the_candidates(root: Path) -> None:
    versions = VersionStore(root)
    one, two, other = "abcd1" + "0" * 59, "abcd2" + "0" * 59, "ef" * 32
    for vid in (one, two, other):
        versions.record("a", version(vid))
    with pytest.raises(AmbiguousVersion, match="'abcd' of workflow 'a' is ambiguous") as caught:
        versions.resolve("a", "abcd")
    assert caught.value.details == {"name": "a", "version": "abcd", "candidates": [one, two]}
    assert versions.resolve("a", "abcd2").id == two


@pytest.mark.parametrize(
    "ref", [pytest.param("abc", id="too-short"), pytest.param("xyz1", id="not-hex"), pytest.param("a" * 65, id="too-long")]
)
def test_a_reference_that_is_no_id_is_a_bad_request(root: Path, ref: str) -> None:
    with pytest.raises(BadRequest, match="version"):
        VersionStore(root).resolve("a", ref)


def test_an_unknown_version_is_not_found_naming_it(store: WorkflowStore) -> None:
    store.save("a", prompt(1))
    with pytest.raises(NotFound, match="no version 'dead'") as caught:
        store.versions.resolve("a", "dead")
    assert caught.value.details == {"name": "a", "version": "dead"}
    with pytest.raises(NotFound):
        store.versions.resolve("never-saved", "dead")
