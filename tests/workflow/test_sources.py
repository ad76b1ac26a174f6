"""workflow/sources.py: published endpoints first, then ComfyUI's user workflows; clashes reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.plainfiles import CountingConverter, api_prompt, ui_workflow

from connect.errors import NameClash, NotAnEndpoint, NotFound, ReadOnlyWorkflow
from connect.workflow.plain import folder_reader
from connect.workflow.sources import Sources
from connect.workflow.store import WorkflowStore
from connect.workflow.userflows import UserWorkflows


@pytest.fixture
def published(tmp_path: Path) -> WorkflowStore:
    return WorkflowStore(tmp_path / "connect" / "workflows", plain=folder_reader(CountingConverter()))


@pytest.fixture
def users(tmp_path: Path) -> UserWorkflows:
    root = tmp_path / "default" / "workflows"
    root.mkdir(parents=True)
    return UserWorkflows(root, CountingConverter())


def test_a_published_endpoint_wins_a_clash_and_the_clash_is_reported(published: WorkflowStore, users: UserWorkflows) -> None:
    published.save("portrait", api_prompt(width=1))
    (users.root / "Portrait.json").write_text(json.dumps(ui_workflow(width=2)))
    (users.root / "other.json").write_text(json.dumps(ui_workflow(width=3)))
    store = Sources(published, users)

    good, bad = store.load_all()

    assert [(w.name, w.source) for w in good] == [("other", "user"), ("portrait", "api")]
    assert store.load("portrait").endpoint.groups["size"].inputs["width"] == 1
    assert store.load("other").endpoint.groups["size"].inputs["width"] == 3
    clash = bad["user:Portrait.json"]
    assert isinstance(clash, NameClash)
    assert clash.details == {"name": "portrait", "file": "Portrait.json", "source": "user"}
    assert store.names() == ["other", "portrait"]


def test_a_folder_file_without_annotations_still_holds_its_name(published: WorkflowStore, users: UserWorkflows) -> None:
    published.root.mkdir(parents=True)
    unannotated = api_prompt(title="Empty")
    unannotated["2"]["_meta"] = {"title": "Save"}
    (published.root / "flow.json").write_text(json.dumps(unannotated))
    (users.root / "flow.json").write_text(json.dumps(ui_workflow()))
    store = Sources(published, users)

    with pytest.raises(NotAnEndpoint):
        store.load("flow")
    assert isinstance(store.load_all()[1]["user:flow.json"], NameClash)


def test_deleting_a_user_workflow_is_refused_naming_its_file(published: WorkflowStore, users: UserWorkflows) -> None:
    (users.root / "My Flow.json").write_text(json.dumps(ui_workflow()))
    store = Sources(published, users)

    with pytest.raises(ReadOnlyWorkflow) as raised:
        store.delete("my-flow")

    assert "'My Flow.json'" in raised.value.message
    assert (users.root / "My Flow.json").exists()
    with pytest.raises(NotFound):
        store.delete("absent")


def test_publishing_a_user_workflows_name_takes_it_over(published: WorkflowStore, users: UserWorkflows) -> None:
    (users.root / "flow.json").write_text(json.dumps(ui_workflow(width=2)))
    store = Sources(published, users)
    assert store.load("flow").source == "user"

    store.save("flow", api_prompt(width=5))

    assert store.load("flow").source == "api"
    assert store.load("flow").endpoint.groups["size"].inputs["width"] == 5


def test_without_user_workflows_only_the_published_are_served(published: WorkflowStore, users: UserWorkflows) -> None:
    (users.root / "flow.json").write_text(json.dumps(ui_workflow()))
    store = Sources(published, None)

    with pytest.raises(NotFound):
        store.load("flow")
    assert store.load_all() == ([], {})


def test_peek_serves_published_cache_hits_and_leaves_user_workflows_to_load(published: WorkflowStore, users: UserWorkflows) -> None:
    published.save("saved", api_prompt())
    (users.root / "flow.json").write_text(json.dumps(ui_workflow()))
    store = Sources(published, users)
    store.load("saved")
    store.load("flow")

    assert store.peek("saved") is store.load("saved")
    assert store.peek("flow") is None


def test_a_clash_is_logged_once_and_again_when_it_comes_back(
    published: WorkflowStore, users: UserWorkflows, caplog: pytest.LogCaptureFixture
) -> None:
    (users.root / "flow.json").write_text(json.dumps(ui_workflow()))
    store = Sources(published, users)
    published.save("flow", api_prompt())
    store.load_all()
    store.load_all()
    published.delete("flow")
    store.load_all()
    published.save("flow", api_prompt())
    store.load_all()

    assert [r.getMessage().count("'flow.json' would be served as 'flow'") for r in caplog.records] == [1, 1]
