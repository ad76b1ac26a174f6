"""A `#` output that fails ComfyUI's validation fails the call (it used to answer 200 with an empty list)."""

from __future__ import annotations

import pytest
from support.client import Client
from support.documents import assert_documented

pytestmark = pytest.mark.e2e


def test_output_refused_by_comfyui_fails_the_whole_call(api: Client) -> None:
    # txt2img's `#output` needs a checkpoint that is not installed; its `#scaled` branch is fine.
    # ComfyUI runs the valid branch and drops the other ("Output will be ignored").
    response = api.run("txt2img", {"sampler": {"steps": 2}, "init": {"image": "example.png"}})
    assert response.status_code == 422, response.text[:500]
    error = response.json()["error"]
    assert error["type"] == "prompt_invalid"
    assert "model.ckpt_name" in [p["path"] for p in error["details"]["problems"]]
    assert_documented(api.document(), "/api/connect/workflows/txt2img", "POST", response)
