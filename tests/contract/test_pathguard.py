from __future__ import annotations

import pytest

from connect.comfy.nodespec import NodeSpec
from connect.contract.pathguard import check_path_inputs, check_prompt_paths, unsafe_reason
from connect.errors import InvalidWorkflow, PayloadError
from connect.workflow.endpoint import parse_endpoint

LOAD_IMAGE = NodeSpec.from_object_info(
    "LoadImage", {"input": {"required": {"image": [["a.png", "sub/b.png"], {"image_upload": True}]}}, "output": ["IMAGE"]}
)
SPECS = {"LoadImage": LOAD_IMAGE}
PROMPT = {"1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}, "_meta": {"title": "Load $load"}}}


@pytest.mark.parametrize("value", ["a.png", "sub/b.png", "x.png [output]", "名前.png", "a..b.png", "...png"])
def test_safe_names(value: str) -> None:
    assert unsafe_reason(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("../x.png", "'..' part", id="dotdot"),
        pytest.param("sub/../../x.png", "'..' part", id="inner-dotdot"),
        pytest.param("..\\x.png", "'..' part", id="backslash"),
        pytest.param("/etc/passwd", "absolute", id="absolute"),
        pytest.param("\\\\server\\share", "absolute", id="unc"),
        pytest.param("C:x.png", "absolute", id="drive"),
        pytest.param("%2e%2e/x.png", "'..' part", id="percent"),
        pytest.param("%2fetc%2fpasswd", "absolute", id="percent-absolute"),
        pytest.param("．．／x.png", "'..' part", id="fullwidth"),
        pytest.param("a\x00.png", "U+0000", id="nul"),
        pytest.param("\u202egnp.exe", "U+202E", id="rtl-override"),
        pytest.param("a\u200bb.png", "U+200B", id="zero-width"),
    ],
)
def test_unsafe_names(value: str, reason: str) -> None:
    found = unsafe_reason(value)
    assert found is not None and reason in found


def test_payload_paths_are_checked_for_path_like_inputs_only() -> None:
    endpoint = parse_endpoint(PROMPT)
    check_path_inputs(endpoint, {"load": {"image": "sub/b.png"}}, SPECS.get)
    with pytest.raises(PayloadError, match=r"'load\.image': must be a name inside ComfyUI's folders"):
        check_path_inputs(endpoint, {"load": {"image": "../../secret.png"}}, SPECS.get)
    text = {"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "x"}, "_meta": {"title": "$prompt"}}}
    check_path_inputs(parse_endpoint(text), {"prompt": {"text": "../../a story about paths"}}, SPECS.get)


def test_saved_paths_are_checked() -> None:
    check_prompt_paths(PROMPT, SPECS.get)
    planted = {"1": {**PROMPT["1"], "inputs": {"image": "/etc/secret.png"}}}
    with pytest.raises(InvalidWorkflow, match=r"node 1\.image"):
        check_prompt_paths(planted, SPECS.get)
    check_prompt_paths({"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "team/x"}}}, SPECS.get)
    with pytest.raises(InvalidWorkflow):
        check_prompt_paths({"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "../x"}}}, SPECS.get)
