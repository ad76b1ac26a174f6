"""workflow/userflows.py: ComfyUI's own saved workflows served when they have a `#` output."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from support.plainfiles import CountingConverter, api_prompt, ui_workflow

from connect.errors import InvalidName, NameClash, NotFound, WorkflowCorrupt
from connect.workflow.userflows import UserWorkflows, slug


@pytest.mark.parametrize(
    ("relative", "name"),
    [
        ("portrait.json", "portrait"),
        ("My Flow (2).json", "my-flow-2"),
        ("Team/Upscale 4x.json", "team/upscale-4x"),
        ("Café crème.json", "cafe-creme"),
        ("snake_case-ok.json", "snake_case-ok"),
        ("  --odd--  .json", "odd"),
        ("x" * 80 + ".json", "x" * 64),
        ("???.json", None),
        ("a/b/c/d/e/f.json", None),
    ],
)
def test_slug(relative: str, name: str | None) -> None:
    assert slug(relative) == name


@pytest.fixture
def converter() -> CountingConverter:
    return CountingConverter()


@pytest.fixture
def users(tmp_path: Path, converter: CountingConverter) -> UserWorkflows:
    return UserWorkflows(tmp_path / "user" / "default" / "workflows", converter)


def put(users: UserWorkflows, relative: str, document: Any) -> Path:
    path = users.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(json.dumps(document))
    os.utime(path, ns=(before + 10**9, before + 10**9))
    # The listing is kept while the folders' mtimes stay: move them on as a real write would, however coarse the clock.
    for folder in [path.parent, *path.parent.parents]:
        if folder == users.root.parent:
            break
        stamp = folder.stat().st_mtime_ns + 10**9
        os.utime(folder, ns=(stamp, stamp))
    return path


def test_a_workflow_with_an_output_is_served_under_its_slug(users: UserWorkflows) -> None:
    put(users, "My Flow (2).json", ui_workflow(width=80))

    saved = users.load("my-flow-2")

    assert (saved.name, saved.source, saved.file) == ("my-flow-2", "user", "My Flow (2).json")
    assert saved.endpoint.groups["size"].inputs["width"] == 80
    assert [w.name for w in users.load_all()[0]] == ["my-flow-2"]


def test_a_workflow_without_an_output_is_not_served_nor_converted(users: UserWorkflows, converter: CountingConverter) -> None:
    put(users, "sketch.json", ui_workflow(output="Save Image"))

    with pytest.raises(NotFound):
        users.load("sketch")
    assert users.load_all() == ([], {})
    assert converter.calls == 0


def test_a_workflow_published_through_the_menu_is_served_under_that_name_only(users: UserWorkflows) -> None:
    put(users, "portrait.json", ui_workflow() | {"extra": {"connect": {"endpoint": "portrait"}}})
    assert users.load_all() == ([], {})


def test_changes_additions_and_removals_are_picked_up(users: UserWorkflows, converter: CountingConverter) -> None:
    assert users.load_all() == ([], {})  # the folder does not even exist yet
    path = put(users, "flow.json", ui_workflow(width=80))
    assert users.load("flow").endpoint.groups["size"].inputs["width"] == 80
    users.load("flow")
    assert converter.calls == 1

    put(users, "flow.json", ui_workflow(width=90))
    assert users.load("flow").endpoint.groups["size"].inputs["width"] == 90
    put(users, "sub/other.json", api_prompt())
    assert [w.name for w in users.load_all()[0]] == ["flow", "sub/other"]

    path.unlink()
    with pytest.raises(NotFound):
        users.load("flow")


def test_a_workflow_with_an_output_that_cannot_be_served_is_reported(users: UserWorkflows) -> None:
    put(users, "broken.json", ui_workflow(class_type="NotInstalled"))

    good, bad = users.load_all()

    assert good == []
    assert isinstance(bad["user:broken.json"], WorkflowCorrupt)
    assert "NotInstalled" in bad["user:broken.json"].message
    with pytest.raises(WorkflowCorrupt):
        users.load("broken")


def test_two_workflows_with_one_slug_the_first_is_served_the_other_reported(users: UserWorkflows) -> None:
    put(users, "My Flow.json", ui_workflow(width=1))
    put(users, "my flow.json", ui_workflow(width=2))

    good, bad = users.load_all()

    assert [w.file for w in good] == ["My Flow.json"]
    assert users.load("my-flow").file == "My Flow.json"
    clash = bad["user:my flow.json"]
    assert isinstance(clash, NameClash) and clash.details["served"] == "My Flow.json"


def test_a_workflow_no_name_can_be_made_of_is_reported_when_it_has_an_output(users: UserWorkflows) -> None:
    put(users, "???.json", ui_workflow())
    put(users, "!!!.json", ui_workflow(output="Save"))

    assert list(users.load_all()[1]) == ["user:???.json"]
    assert isinstance(users.load_all()[1]["user:???.json"], InvalidName)


def test_hidden_folders_and_other_files_are_ignored(users: UserWorkflows) -> None:
    put(users, ".trash/flow.json", ui_workflow())
    put(users, ".flow.json", ui_workflow())
    (users.root / "notes.txt").write_text("#out")
    assert users.load_all() == ([], {})
