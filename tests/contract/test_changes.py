from __future__ import annotations

from typing import Any

import pytest

from connect.comfy.nodespec import NodeSpec
from connect.contract.changes import Changes, compare
from connect.workflow.endpoint import parse_endpoint

# Node classes whose one widget input `v` takes what each name says, so a prompt changes the contract
# by changing a node's class, as a real edit in ComfyUI does (a new node, a node pack's new version).
OBJECT_INFO: dict[str, dict[str, Any]] = {
    "Int100": {"input": {"required": {"v": ["INT", {"min": 1, "max": 100}]}}},
    "Int50": {"input": {"required": {"v": ["INT", {"min": 1, "max": 50}]}}},
    "Int1000": {"input": {"required": {"v": ["INT", {"min": 1, "max": 1000}]}}},
    "IntFrom5": {"input": {"required": {"v": ["INT", {"min": 5, "max": 100}]}}},
    "IntFrom0": {"input": {"required": {"v": ["INT", {"min": 0, "max": 100}]}}},
    "IntOpen": {"input": {"required": {"v": ["INT", {}]}}},
    "IntStep8": {"input": {"required": {"v": ["INT", {"min": 0, "max": 100, "step": 8}]}}},
    "IntStep4": {"input": {"required": {"v": ["INT", {"min": 0, "max": 100, "step": 4}]}}},
    "Float100": {"input": {"required": {"v": ["FLOAT", {"min": 1, "max": 100}]}}},
    "Text": {"input": {"required": {"v": ["STRING", {}]}}},
    "Abc": {"input": {"required": {"v": [["a", "b", "c"], {}]}}},
    "Ab": {"input": {"required": {"v": [["a", "b"], {}]}}},
    "Abcd": {"input": {"required": {"v": [["a", "b", "c", "d"], {}]}}},
    "Upload": {"input": {"required": {"v": [["a", "b"], {"image_upload": True}]}}},
    "Two": {"input": {"required": {"v": ["INT", {"min": 1, "max": 100}], "w": ["INT", {"min": 1, "max": 100}]}}},
    "Save": {"input": {"required": {"images": ["IMAGE", {}]}}, "output": [], "output_node": True},
}


def specs(class_type: str) -> NodeSpec | None:
    info = OBJECT_INFO.get(class_type)
    return NodeSpec.from_object_info(class_type, info) if info else None


def node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def endpoint(*nodes: dict[str, Any], outputs: tuple[str, ...] = ("out",)) -> Any:
    prompt = {str(i + 1): n for i, n in enumerate(nodes)}
    for j, name in enumerate(outputs):
        prompt[f"9{j}"] = node("Save", f"#{name}", images=["1", 0])
    return parse_endpoint(prompt)


def changes(old: Any, new: Any) -> Changes:
    return compare(old, new, specs)


def one(class_type: str, value: Any = 20, title: str = "$g") -> Any:
    return endpoint(node(class_type, title, v=value))


@pytest.mark.parametrize(
    ("before", "after", "breaking"),
    [
        pytest.param(("Int100",), ("Int50",), ["g.v: maximum lowered from 100 to 50"], id="maximum-lowered"),
        pytest.param(("IntFrom0",), ("IntFrom5",), ["g.v: minimum raised from 0 to 5"], id="minimum-raised"),
        pytest.param(("IntOpen",), ("Int100",), ["g.v: minimum 1 added", "g.v: maximum 100 added"], id="range-added"),
        pytest.param(("Float100",), ("Int100",), ["g.v: type changed from number to integer"], id="number-to-integer"),
        pytest.param(("Int100",), ("Text",), ["g.v: type changed from integer to string"], id="integer-to-string"),
        pytest.param(("Abc",), ("Ab",), ["g.v: choices removed: 'c'"], id="enum-narrowed"),
        pytest.param(("Text", "a"), ("Abc", "a"), ["g.v: now limited to 3 choices"], id="enum-added"),
        pytest.param(("IntFrom0",), ("IntStep8",), ["g.v: step changed from none to 8"], id="step-added"),
        pytest.param(("IntStep4",), ("IntStep8",), ["g.v: step changed from 4 to 8"], id="step-coarser"),
        pytest.param(("Upload", "a"), ("Ab", "a"), ["g.v: no longer takes a file sent with the call"], id="file-dropped"),
    ],
)
def test_narrowing_an_input_is_breaking(before: tuple[Any, ...], after: tuple[Any, ...], breaking: list[str]) -> None:
    found = changes(one(*before), one(*after))
    assert found.breaking == breaking


@pytest.mark.parametrize(
    ("before", "after", "compatible"),
    [
        pytest.param(("Int100",), ("Int1000",), ["g.v: maximum raised from 100 to 1000"], id="maximum-raised"),
        pytest.param(("IntFrom5",), ("IntFrom0",), ["g.v: minimum lowered from 5 to 0"], id="minimum-lowered"),
        pytest.param(("Int100",), ("IntOpen",), ["g.v: minimum 1 removed", "g.v: maximum 100 removed"], id="range-removed"),
        pytest.param(("Int100",), ("Float100",), ["g.v: type changed from integer to number"], id="integer-to-number"),
        pytest.param(("Ab",), ("Abcd",), ["g.v: choices added: 'c', 'd'"], id="enum-widened"),
        pytest.param(("Abc", "a"), ("Text", "a"), ["g.v: no longer limited to a list of choices"], id="enum-dropped"),
        pytest.param(("IntStep8",), ("IntStep4",), ["g.v: step changed from 8 to 4"], id="step-finer"),
        pytest.param(("Ab", "a"), ("Upload", "a"), ["g.v: now takes a file sent with the call"], id="file-accepted"),
        pytest.param(("Int100", 20), ("Int100", 30), ["g.v: saved value changed from 20 to 30"], id="saved-value"),
    ],
)
def test_widening_an_input_is_compatible(before: tuple[Any, ...], after: tuple[Any, ...], compatible: list[str]) -> None:
    found = changes(one(*before), one(*after))
    assert found.breaking == []
    assert found.compatible == compatible


def test_the_same_endpoint_changes_nothing() -> None:
    assert changes(one("Int100"), one("Int100")).items == ()


def test_a_removed_group_is_breaking_and_a_new_one_compatible() -> None:
    old = endpoint(node("Int100", "$sampler", v=1), node("Text", "$prompt", v="x"))
    new = endpoint(node("Int100", "$sampler", v=1), node("Abc", "$style", v="a"))
    found = changes(old, new)
    assert found.breaking == ["prompt removed"]
    assert found.compatible == ["style added"]


def test_a_group_on_the_same_nodes_under_another_name_is_renamed() -> None:
    found = changes(one("Int100", title="$sampler"), one("Int100", title="$ksampler"))
    assert found.breaking == ["sampler renamed to ksampler"]
    assert found.compatible == []


def test_an_input_filtered_out_is_removed_and_one_let_in_is_added() -> None:
    both = endpoint(node("Two", "$g", v=1, w=2))
    only_v = endpoint(node("Two", "$g(v)", v=1, w=2))
    assert changes(both, only_v).breaking == ["g.w removed"]
    assert changes(only_v, both).compatible == ["g.w added"]
    assert changes(only_v, both).breaking == []


def test_a_group_reduced_to_bypass_only_loses_its_inputs() -> None:
    found = changes(endpoint(node("Two", "$g", v=1, w=2)), endpoint(node("Two", "$g()", v=1, w=2)))
    assert found.breaking == ["g.v removed", "g.w removed"]


def test_outputs_removed_are_breaking_and_added_compatible() -> None:
    old = endpoint(node("Int100", "$g", v=1), outputs=("image", "preview"))
    new = endpoint(node("Int100", "$g", v=1), outputs=("image", "mask"))
    found = changes(old, new)
    assert found.breaking == ["output preview removed"]
    assert found.compatible == ["output mask added"]


def test_a_node_class_not_installed_compares_by_saved_value_type() -> None:
    found = changes(one("Missing", 1), one("Missing", "one"))
    assert found.breaking == ["g.v: type changed from integer to string"]


def test_changes_render_as_lists_of_text_and_items() -> None:
    rendered = changes(one("Int100", title="$a"), one("Int100", title="$a #b")).as_dict()
    assert set(rendered) == {"breaking", "compatible", "items"}
    items = changes(one("Abc"), one("Ab")).as_dict()["items"]
    assert items == [{"path": "g.v", "kind": "enum", "breaking": True, "text": "g.v: choices removed: 'c'"}]


def test_long_choice_lists_are_cut() -> None:
    many = {f"Many{n}": {"input": {"required": {"v": [[str(i) for i in range(n)], {}]}}} for n in (2, 12)}
    OBJECT_INFO.update(many)
    try:
        text = changes(one("Many12", "0"), one("Many2", "0")).breaking[0]
    finally:
        for key in many:
            OBJECT_INFO.pop(key)
    assert text == "g.v: choices removed: '2', '3', '4', '5', '6' and 5 more"
