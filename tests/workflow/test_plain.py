"""workflow/plain.py: plain UI- and API-format files of the workflows folder read as endpoints
(through the store, as the plugin wires them)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from support.plainfiles import CountingConverter, api_prompt, ui_workflow
from support.uiformat import UIGraph

from connect.errors import InvalidName, NotAnEndpoint, NotFound, ReadOnlyWorkflow, WorkflowCorrupt
from connect.workflow.plain import folder_reader, has_output_title
from connect.workflow.store import WorkflowStore, plain_kind


@pytest.fixture
def converter() -> CountingConverter:
    return CountingConverter()


@pytest.fixture
def store(tmp_path: Path, converter: CountingConverter) -> WorkflowStore:
    return WorkflowStore(tmp_path / "flows", plain=folder_reader(converter))


def put(store: WorkflowStore, relative: str, document: Any) -> Path:
    path = store.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a change the stat cache sees, however coarse the clock
    return path


def test_kinds() -> None:
    assert plain_kind(ui_workflow()) == "ui"
    assert plain_kind(api_prompt()) == "api"
    assert plain_kind({"prompt": api_prompt()}) is None
    assert plain_kind([]) is None
    assert plain_kind({}) is None


def test_a_ui_file_and_an_api_file_are_endpoints_with_their_source(store: WorkflowStore) -> None:
    put(store, "team/portrait.json", ui_workflow(width=80))
    put(store, "exported.json", api_prompt(width=96))
    store.save("saved", api_prompt(width=128))

    good, bad = store.load_all()

    assert bad == {}
    assert {w.name: (w.source, w.file) for w in good} == {
        "exported": ("folder", "exported.json"),
        "saved": ("api", ""),
        "team/portrait": ("folder", "team/portrait.json"),
    }
    portrait = store.load("team/portrait")
    assert portrait.endpoint.groups["size"].inputs["width"] == 80
    assert portrait.endpoint.outputs == {"out": ("2",)}
    assert portrait.workflow == ui_workflow(width=80)  # the UI source is kept (describe, metadata)
    assert store.load("exported").endpoint.groups["size"].inputs["width"] == 96
    assert store.load("exported").workflow is None


def test_a_ui_file_is_converted_once_per_change(store: WorkflowStore, converter: CountingConverter) -> None:
    put(store, "flow.json", ui_workflow(width=80))
    for _ in range(3):
        assert store.load("flow").endpoint.groups["size"].inputs["width"] == 80
    store.load_all()
    assert converter.calls == 1

    put(store, "flow.json", ui_workflow(width=90))

    assert store.load("flow").endpoint.groups["size"].inputs["width"] == 90
    assert converter.calls == 2


def test_a_removed_file_is_gone(store: WorkflowStore) -> None:
    path = put(store, "flow.json", api_prompt())
    store.load("flow")
    path.unlink()
    with pytest.raises(NotFound):
        store.load("flow")
    assert store.load_all() == ([], {})


def test_a_file_without_annotations_is_reported_not_served(store: WorkflowStore) -> None:
    put(store, "plain.json", api_prompt(title="Empty Image") | {"2": {**api_prompt()["2"], "_meta": {"title": "Save"}}})

    with pytest.raises(NotAnEndpoint) as raised:
        store.load("plain")

    assert raised.value.status == 404
    assert "'plain.json'" in raised.value.message and "no node title carries an annotation" in raised.value.message
    assert list(store.load_all()[1]) == ["plain"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"nodes": "no"}, "neither a UI-format workflow"),
        ([1, 2], "neither a UI-format workflow"),
        ("{not json", "cannot be used"),
        (ui_workflow(class_type="NotInstalled"), "NotInstalled"),
        (ui_workflow(title="$size(nope)"), "no widget input 'nope'"),
    ],
)
def test_a_bad_file_is_reported_with_the_reason(store: WorkflowStore, document: Any, expected: str) -> None:
    put(store, "bad.json", document)

    with pytest.raises(WorkflowCorrupt) as raised:
        store.load("bad")

    assert expected in raised.value.message
    good, bad = store.load_all()
    assert good == [] and bad["bad"].message == raised.value.message


def test_an_unconvertible_file_names_the_cause_and_is_not_reconverted_per_call(store: WorkflowStore, converter: CountingConverter) -> None:
    put(store, "bad.json", ui_workflow(class_type="NotInstalled"))
    for _ in range(3):
        with pytest.raises(WorkflowCorrupt) as raised:
            store.load("bad")
    assert converter.calls == 1
    assert raised.value.details["file"] == "bad.json"
    assert raised.value.details["cause"]["type"] == "unconvertible_workflow"


def test_dot_folders_dot_files_and_other_files_are_ignored(store: WorkflowStore) -> None:
    put(store, ".git/objects/x.json", api_prompt())
    put(store, ".hidden.json", api_prompt())
    put(store, "README.md", "# flows")
    put(store, "flow.json", api_prompt())

    assert store.names() == ["flow"]
    assert store.load_all()[1] == {}


def test_a_file_whose_path_cannot_be_a_name_is_reported(store: WorkflowStore) -> None:
    put(store, "My Flow (2).json", api_prompt())

    good, bad = store.load_all()

    assert good == []
    assert isinstance(bad["My Flow (2)"], InvalidName)
    assert "'My Flow (2).json'" in bad["My Flow (2)"].message


def test_saving_or_deleting_a_plain_file_is_refused_and_leaves_it_as_it_is(store: WorkflowStore) -> None:
    path = put(store, "flow.json", ui_workflow())
    before = path.read_bytes()

    with pytest.raises(ReadOnlyWorkflow) as saving:
        store.save("flow", api_prompt())
    with pytest.raises(ReadOnlyWorkflow):
        store.delete("flow")

    assert saving.value.status == 409 and "'flow.json'" in saving.value.message
    assert path.read_bytes() == before
    store.save("other", api_prompt())  # the API's own files are still saved and deleted as before
    store.delete("other")


def test_an_unconvertible_plain_file_is_still_the_folders(store: WorkflowStore) -> None:
    put(store, "flow.json", ui_workflow(class_type="NotInstalled"))
    with pytest.raises(ReadOnlyWorkflow):
        store.save("flow", api_prompt())


def test_a_json_file_in_neither_format_is_reported_and_may_be_replaced(store: WorkflowStore) -> None:
    put(store, "flow.json", {"workflow": {}})
    with pytest.raises(WorkflowCorrupt):
        store.load("flow")
    store.save("flow", api_prompt())
    assert store.load("flow").source == "api"


def test_a_cluster_may_remove_a_plain_file(store: WorkflowStore) -> None:
    put(store, "flow.json", api_prompt())
    assert store.remove("flow") is True
    assert store.names() == []


def test_an_api_prompt_with_a_node_named_prompt_is_plain(store: WorkflowStore) -> None:
    prompt = {"prompt": api_prompt()["1"], "2": {**api_prompt()["2"], "inputs": {"images": ["prompt", 0], "filename_prefix": "x"}}}
    put(store, "odd.json", prompt)
    assert store.load("odd").source == "folder"


def test_without_a_reader_plain_files_stay_corrupt(tmp_path: Path) -> None:
    store = WorkflowStore(tmp_path)
    put(store, "flow.json", api_prompt())
    with pytest.raises(WorkflowCorrupt):
        store.load("flow")


@pytest.mark.parametrize(
    ("title", "found"),
    [("#out", True), ("Save [#out]", True), ("C# notes", False), ("$in", False), ("#bad(", True)],
)
def test_output_titles_are_found_without_converting(title: str, found: bool) -> None:
    assert has_output_title(ui_workflow(output=title)) is found
    assert has_output_title({"2": {"class_type": "SaveImage", "inputs": {}, "_meta": {"title": title}}}) is found


def test_output_titles_inside_subgraphs_are_found() -> None:
    inner = UIGraph(subgraph_id="sub")
    inner.node(7, "SaveImage", ["x"], title="#deep")
    outer = UIGraph()
    outer.node(1, "sub")
    assert has_output_title(outer.saved(inner)) is True
    assert has_output_title(outer.saved()) is False


def test_peek_answers_from_the_cache_only_while_the_file_is_unchanged(store: WorkflowStore, converter: CountingConverter) -> None:
    put(store, "flow.json", ui_workflow(width=80))
    assert store.peek("flow") is None  # not read yet: the caller loads it off the event loop
    assert converter.calls == 0

    loaded = store.load("flow")

    assert store.peek("flow") is loaded
    put(store, "flow.json", ui_workflow(width=90))
    assert store.peek("flow") is None
    assert store.peek("../escape") is None and store.peek("absent") is None
    assert converter.calls == 1


def test_a_bad_file_is_logged_once_per_change(store: WorkflowStore, caplog: pytest.LogCaptureFixture) -> None:
    put(store, "bad.json", ui_workflow(class_type="NotInstalled"))
    put(store, "My Flow.json", api_prompt())
    for _ in range(3):
        store.load_all()
    put(store, "bad.json", ui_workflow(class_type="StillNotInstalled"))
    store.load_all()

    logged = [r.getMessage() for r in caplog.records]
    about_bad = [m for m in logged if "bad.json" in m]
    assert len(about_bad) == 2 and "StillNotInstalled" in about_bad[1]
    assert len([m for m in logged if "My Flow.json" in m]) == 1


def test_each_content_of_a_plain_file_is_a_folder_version(store: WorkflowStore) -> None:
    put(store, "team/portrait.json", ui_workflow(width=80))
    first = store.load("team/portrait")
    put(store, "team/portrait.json", ui_workflow(width=96))  # a `git pull` changed it
    second = store.load("team/portrait")

    kept = store.versions.list("team/portrait")
    assert first.version and second.version and first.version != second.version
    assert {v.id for v in kept} == {first.version, second.version}
    assert {v.source for v in kept} == {"folder"}


def test_a_users_own_folder_gets_no_versions_folder_of_ours(tmp_path: Path, converter: CountingConverter) -> None:
    elsewhere = tmp_path / "user" / "connect"
    store = WorkflowStore(tmp_path / "repo", plain=folder_reader(converter), versions=elsewhere)
    put(store, "portrait.json", ui_workflow(width=80))

    saved = store.load("portrait")

    assert [v.id for v in store.versions.list("portrait")] == [saved.version]
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["portrait.json"]  # a git checkout stays clean
    assert any(elsewhere.rglob("*.json"))
