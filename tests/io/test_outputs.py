from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connect.comfy.nodespec import NodeSpec
from connect.errors import ExecutionFailed
from connect.io.outputs import RUN_INPUT, FileRef, Value, collect, file_refs, items, resolve_path, uncached_outputs


def _filename(ref: FileRef | Value) -> str:
    assert isinstance(ref, FileRef), ref
    return ref.filename


def image(filename: str, subfolder: str = "", type_: str = "output") -> dict[str, str]:
    return {"filename": filename, "subfolder": subfolder, "type": type_}


def test_file_refs_of_save_image() -> None:
    ui = {"images": [image("ComfyUI_00001_.png"), image("ComfyUI_00002_.png", "sub")]}
    assert file_refs(ui) == [FileRef("ComfyUI_00001_.png", "", "output"), FileRef("ComfyUI_00002_.png", "sub", "output")]


def test_file_refs_of_preview_image_keep_its_type() -> None:
    assert file_refs({"images": [image("p_00001_.png", type_="temp")]}) == [FileRef("p_00001_.png", "", "temp")]


def test_file_refs_skip_what_is_not_a_file() -> None:
    ui: dict[str, Any] = {
        "text": ["hello"],
        "animated": [False],
        "images": [{"filename": 3}, {"subfolder": "x"}, "x.png", image("ok.png")],
        "meta": {"filename": "not-a-list.png"},
    }
    assert file_refs(ui) == [FileRef("ok.png", "", "output")]


def test_file_refs_default_subfolder_and_type() -> None:
    assert file_refs({"gifs": [{"filename": "a.webp", "subfolder": None}]}) == [FileRef("a.webp", "", "output")]


def test_file_refs_keep_batch_order_across_keys() -> None:
    ui = {"images": [image("1.png"), image("2.png")], "audio": [image("3.flac")]}
    assert [ref.filename for ref in file_refs(ui)] == ["1.png", "2.png", "3.flac"]


def test_collect_orders_by_node_then_batch() -> None:
    outputs = {"images": ("12", "9"), "preview": ("11",), "skipped": ("13",)}
    produced = {
        "9": {"images": [image("b1.png"), image("b2.png")]},
        "12": {"images": [image("a1.png")]},
        "11": {"images": [image("p.png", type_="temp")]},
        "99": {"images": [image("other.png")]},
    }
    result = collect(outputs, produced)
    assert {name: [_filename(ref) for ref in refs] for name, refs in result.items()} == {
        "images": ["a1.png", "b1.png", "b2.png"],
        "preview": ["p.png"],
        "skipped": [],
    }


def test_collect_treats_a_none_output_as_empty() -> None:
    assert collect({"out": ("9",)}, {"9": None}) == {"out": []}


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    found = {kind: tmp_path / kind for kind in ("output", "temp", "input")}
    for path in found.values():
        path.mkdir()
    (found["output"] / "sub").mkdir()
    return found


def test_resolve_path_inside_the_folder(folders: dict[str, Path]) -> None:
    assert resolve_path(folders.get, FileRef("a.png", "", "output")) == (folders["output"] / "a.png").resolve()
    assert resolve_path(folders.get, FileRef("a.png", "sub", "output")) == (folders["output"] / "sub" / "a.png").resolve()
    assert resolve_path(folders.get, FileRef("p.png", "", "temp")) == (folders["temp"] / "p.png").resolve()


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param(FileRef("../input/secret.png", "", "output"), id="filename-parent"),
        pytest.param(FileRef("secret.png", "../input", "output"), id="subfolder-parent"),
        pytest.param(FileRef("passwd", "/etc", "output"), id="absolute-subfolder"),
        pytest.param(FileRef("/etc/passwd", "", "output"), id="absolute-filename"),
        pytest.param(FileRef("", "", "output"), id="the-folder-itself"),
        pytest.param(FileRef("..", "sub", "output"), id="dotdot-filename"),
    ],
)
def test_resolve_path_refuses_escapes(folders: dict[str, Path], ref: FileRef) -> None:
    with pytest.raises(ExecutionFailed, match="points outside ComfyUI's output folder"):
        resolve_path(folders.get, ref)


def test_resolve_path_refuses_a_symlink_out_of_the_folder(folders: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(b"x")
    (folders["output"] / "link.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(ExecutionFailed, match="points outside"):
        resolve_path(folders.get, FileRef("link.png", "", "output"))


def test_resolve_path_refuses_an_unknown_type(folders: dict[str, Path]) -> None:
    with pytest.raises(ExecutionFailed, match="unknown type 'models'") as info:
        resolve_path(folders.get, FileRef("a.png", "", "models"))
    assert info.value.status == 500


# -- values shown by nodes, and the input that keeps output nodes out of ComfyUI's cache ---------------
def test_items_keep_files_and_values_in_the_order_reported() -> None:
    ui: dict[str, Any] = {
        "images": [image("a.webp")],
        "animated": (True,),  # a display flag, not a result
        "text": ("hello",),  # PreviewAny returns a tuple
        "result": ["mesh/x.glb", {"camera": 1}, None],  # Preview3D: values; None is nothing
        "3d": [image("m.glb")],
        "numbers": [1.5, object()],
    }
    found = items(ui)
    assert found[:5] == [
        FileRef("a.webp", "", "output"),
        Value("text", "hello"),
        Value("result", "mesh/x.glb"),
        Value("result", {"camera": 1}),
        FileRef("m.glb", "", "output"),
    ]
    assert found[5] == Value("numbers", 1.5)
    assert isinstance(found[6], Value) and found[6].value.startswith("<object object")  # made JSON-safe


def test_collect_returns_values_too() -> None:
    assert collect({"caption": ("4",)}, {"4": {"text": ("a cat",)}}) == {"caption": [Value("text", "a cat")]}


def spec_of(output_node: bool) -> NodeSpec:
    return NodeSpec("X", (), (), output_node)


def test_uncached_outputs_marks_output_nodes_only() -> None:
    prompt = {
        "1": {"class_type": "Loader", "inputs": {"a": 1}},
        "2": {"class_type": "Save", "inputs": {"images": ["1", 0]}, "_meta": {"title": "#out"}},
        "3": {"class_type": "NotOutput", "inputs": {}},
    }
    specs = {"Save": spec_of(True), "NotOutput": spec_of(False)}
    changed = uncached_outputs(prompt, ("2", "3", "missing"), specs.get, "run-1")
    assert changed["2"]["inputs"] == {"images": ["1", 0], RUN_INPUT: "run-1"}
    assert changed["2"]["_meta"] == {"title": "#out"}
    assert changed["1"] is prompt["1"] and changed["3"] is prompt["3"]
    assert prompt["2"]["inputs"] == {"images": ["1", 0]}  # the saved prompt is not touched


def test_resolve_path_follows_a_link_that_stays_inside_the_folder(folders: dict[str, Path]) -> None:
    (folders["output"] / "real.png").write_bytes(b"x")
    (folders["output"] / "alias.png").symlink_to(folders["output"] / "real.png")
    assert resolve_path(folders.get, FileRef("alias.png", "", "output")) == (folders["output"] / "real.png").resolve()


def test_resolve_path_refuses_a_linked_subfolder_leading_out(folders: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (folders["output"] / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ExecutionFailed, match="points outside"):
        resolve_path(folders.get, FileRef("a.png", "linked", "output"))


def test_resolve_path_refuses_a_nul_byte(folders: dict[str, Path]) -> None:
    with pytest.raises(ExecutionFailed, match="points outside"):
        resolve_path(folders.get, FileRef("a\0.png", "", "output"))


def test_resolve_path_under_a_linked_folder(tmp_path: Path) -> None:
    (tmp_path / "real-output").mkdir()
    (tmp_path / "output-link").symlink_to(tmp_path / "real-output", target_is_directory=True)
    found = resolve_path({"output": tmp_path / "output-link"}.get, FileRef("a.png", "x/../y", "output"))
    assert found == (tmp_path / "real-output").resolve() / "y" / "a.png"
