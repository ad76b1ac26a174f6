"""A `#` output that fails ComfyUI's validation fails the call (it used to answer 200 with an empty list)."""

from __future__ import annotations

import pytest
from support.client import Client
from support.documents import assert_documented
from support.workflows import link, node

pytestmark = pytest.mark.e2e


def test_output_refused_by_comfyui_fails_the_whole_call(api: Client) -> None:
    # Everything it names is installed (it is ready), but `$wide`'s saved width is under ComfyUI's minimum;
    # its `#kept` branch is fine. ComfyUI runs the valid branch and drops the other ("Output will be ignored").
    prompt = {
        "1": node("EmptyImage", "$good", width=4, height=4, batch_size=1, color=0),
        "2": node("SaveImage", "#kept", images=link("1"), filename_prefix="branch"),
        "3": node("EmptyImage", "$wide", width=0, height=4, batch_size=1, color=0),
        "4": node("SaveImage", "#dropped", images=link("3"), filename_prefix="branch"),
    }
    api.saved("branches", prompt)
    response = api.run("branches", {"good": {"width": 8}})
    assert response.status_code == 422, response.text[:500]
    error = response.json()["error"]
    assert error["type"] == "prompt_invalid"
    assert "wide.width" in [p["path"] for p in error["details"]["problems"]]
    assert_documented(api.document(), "/api/connect/workflows/branches", "POST", response)


def test_a_checkpoint_that_is_not_installed_is_refused_before_comfyui_sees_it(api: Client) -> None:
    # txt2img's `#output` needs a checkpoint this box does not have (was ComfyUI's 422 prompt_invalid).
    response = api.run("txt2img", {"sampler": {"steps": 2}, "init": {"image": "example.png"}})
    assert response.status_code == 409, response.text[:500]
    error = response.json()["error"]
    assert error["type"] == "endpoint_not_ready"
    assert [(m["kind"], m["node_id"], m["input"], m["value"]) for m in error["details"]["missing"]] == [
        ("model_file", "4", "ckpt_name", "model.safetensors")
    ]
    assert_documented(api.document(), "/api/connect/workflows/txt2img", "POST", response)
