from pathlib import Path

import pytest

from connect.errors import InvalidName
from connect.workflow.store import WorkflowStore


@pytest.fixture
def store(tmp_path: Path) -> WorkflowStore:
    root = tmp_path / "store"
    (root / "team" / "deep").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "linked-folder").symlink_to(tmp_path / "outside", target_is_directory=True)
    (root / "team" / "linked-sub").symlink_to(tmp_path / "outside", target_is_directory=True)
    (root / "linked-file.json").symlink_to(tmp_path / "outside" / "x.json")
    return WorkflowStore(root)


@pytest.mark.parametrize(
    ("name", "relative"),
    [
        pytest.param("plain", "plain.json", id="top-level"),
        pytest.param("team/deep/x", "team/deep/x.json", id="nested"),
        pytest.param("team/new/y", "team/new/y.json", id="folder-not-created-yet"),
    ],
)
def test_path_for_maps_names_inside_the_store(store: WorkflowStore, name: str, relative: str) -> None:
    assert store.path_for(name) == store.root / relative


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("linked-folder/x", id="symlinked-folder"),
        pytest.param("team/linked-sub/x", id="symlinked-subfolder"),
        pytest.param("linked-file", id="symlinked-file"),
    ],
)
def test_path_for_refuses_symlinks_inside_the_store(store: WorkflowStore, name: str) -> None:
    with pytest.raises(InvalidName, match="symbolic link"):
        store.path_for(name)


def test_a_symlinked_store_root_itself_is_allowed(tmp_path: Path, store: WorkflowStore) -> None:
    # Users may keep the whole store elsewhere; only links inside it could lead a name outside.
    (tmp_path / "alias").symlink_to(store.root, target_is_directory=True)
    assert WorkflowStore(tmp_path / "alias").path_for("team/deep/x") == tmp_path / "alias" / "team" / "deep" / "x.json"
