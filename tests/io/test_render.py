"""The one renderer of a run's outputs (render.py), per delivery mode, and its JSON encoder."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from support.images import png

from connect.io.outputs import FileRef, Item, Value
from connect.io.render import Mode, encode_json, render_outputs

RED = png(color=(255, 0, 0))
REF = FileRef("a.png", "sub", "output")
TEXT = Value("text", "hello")


def _render(tmp_path: Path, mode: Mode, named: dict[str, list[Item]] | None = None) -> Any:
    path = tmp_path / "a.png"
    path.write_bytes(RED)
    rendered = render_outputs(named or {"out": [REF, TEXT]}, {REF: path}, mode, lambda ref: f"http://h/files/t/{ref.filename}")
    return json.loads(encode_json(rendered))


def test_base64_mode_gives_files_as_base64_and_values_under_their_key(tmp_path: Path) -> None:
    assert _render(tmp_path, Mode.BASE64) == {"out": [base64.b64encode(RED).decode(), {"text": "hello"}]}


def test_url_mode_gives_files_as_their_links(tmp_path: Path) -> None:
    assert _render(tmp_path, Mode.URL) == {"out": ["http://h/files/t/a.png", {"text": "hello"}]}


def test_detailed_mode_gives_objects_with_the_facts_and_content(tmp_path: Path) -> None:
    image, text = _render(tmp_path, Mode.DETAILED)["out"]
    assert image["type"] == "file" and (image["filename"], image["subfolder"], image["folder"]) == ("a.png", "sub", "output")
    assert (image["mime_type"], image["width"], image["height"], image["size"]) == ("image/png", 8, 8, len(RED))
    assert base64.b64decode(image["content"]) == RED
    assert text == {"type": "value", "key": "text", "value": "hello"}


def test_raw_mode_is_not_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="raw"):
        _render(tmp_path, Mode.RAW)


def test_outputs_keep_their_order_and_empty_ones(tmp_path: Path) -> None:
    rendered = _render(tmp_path, Mode.URL, {"z": [REF], "a": [], "m": [TEXT, REF]})
    assert list(rendered) == ["z", "a", "m"] and rendered["a"] == [] and len(rendered["m"]) == 2


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param({}, id="no-outputs"),
        pytest.param({"output": []}, id="empty-list"),
        pytest.param({"output": [b"\x89PNG\r\n\x1a\n" + bytes(range(256))]}, id="one-file"),
        pytest.param({"a": [b"1", b""], "b-2": [b"\xff" * 1000], 'é "q"': [b"x"]}, id="several-names-and-files"),
    ],
)
def test_encoded_base64_is_exactly_what_json_dumps_would_write(layout: dict[str, list[bytes]]) -> None:
    encoded = {name: [base64.b64encode(c) for c in contents] for name, contents in layout.items()}
    expected = {name: [base64.b64encode(c).decode() for c in contents] for name, contents in layout.items()}
    assert encode_json(encoded) == json.dumps(expected).encode()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"id": "j", "n": 1, "x": 1.5, "ok": True, "none": None, "é": 'ü\n"', "in": {"a": [1, {"b": []}]}}, id="a-job-view"),
        pytest.param([("a", 1)], id="tuples-as-lists"),
        pytest.param("plain", id="a-string"),
    ],
)
def test_encode_json_writes_values_without_bytes_as_json_dumps_does(value: Any) -> None:
    assert encode_json(value) == json.dumps(value).encode()
