"""What output files may embed: the public prompt and the metadata modes (io/embed.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connect.comfy.hidden_prompt import EMBED_KEY
from connect.errors import WorkflowCorrupt
from connect.io.embed import embedding, public_prompt
from connect.io.outputs import RUN_INPUT
from connect.workflow.store import WorkflowStore

OWN: dict[str, dict[str, Any]] = {
    "1": {"class_type": "EmptyImage", "inputs": {"color": 0}, "_meta": {"title": "$canvas"}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "b"}, "_meta": {"title": "#out"}},
}
QUEUED: dict[str, dict[str, Any]] = {
    "connect-cache-0-2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "team-a-secret.safetensors"}},
    "1": {**OWN["1"], "inputs": {"color": 255}},  # the caller's value
    "2": {**OWN["2"], "inputs": {**OWN["2"]["inputs"], RUN_INPUT: "f00d"}},
}
UI = {"nodes": [{"id": 1, "type": "EmptyImage"}], "extra": {"team": "b"}}


def test_the_public_prompt_has_the_callers_values_and_nothing_of_the_plugin() -> None:
    public = public_prompt(QUEUED, OWN)
    assert public == {"1": {**OWN["1"], "inputs": {"color": 255}}, "2": OWN["2"]}
    text = json.dumps(public)
    assert "connect-cache" not in text and RUN_INPUT not in text and "team-a" not in text


def test_the_public_prompt_leaves_the_queued_one_alone() -> None:
    public_prompt(QUEUED, OWN)
    assert RUN_INPUT in QUEUED["2"]["inputs"]


@pytest.mark.parametrize(
    ("mode", "prompt", "workflow"),
    [
        pytest.param("none", False, False, id="none"),
        pytest.param("prompt", True, False, id="prompt"),
        pytest.param("workflow", False, True, id="workflow"),
        pytest.param("full", True, True, id="full"),
    ],
)
def test_each_mode_gives_the_nodes_what_it_allows(mode: Any, prompt: bool, workflow: bool) -> None:
    extra = embedding(mode, QUEUED, OWN, UI)
    assert extra[EMBED_KEY] == {"prompt": public_prompt(QUEUED, OWN) if prompt else None}
    assert extra.get("extra_pnginfo") == ({"workflow": UI} if workflow else None)


def test_without_a_stored_ui_workflow_full_embeds_the_prompt_only() -> None:
    extra = embedding("full", QUEUED, OWN, None)
    assert "extra_pnginfo" not in extra and extra[EMBED_KEY]["prompt"] is not None


def test_the_mode_is_saved_with_the_workflow(tmp_path: Path) -> None:
    store = WorkflowStore(tmp_path)
    store.save("team-b/public", OWN, UI, None, "full")
    assert json.loads((tmp_path / "team-b" / "public.json").read_text())["metadata"] == "full"
    assert WorkflowStore(tmp_path).load("team-b/public").metadata == "full"
    store.save("team-b/public", OWN)
    assert store.load("team-b/public").metadata is None


def test_a_stored_unknown_mode_breaks_only_its_endpoint(tmp_path: Path) -> None:
    (tmp_path / "odd.json").write_text(json.dumps({"prompt": OWN, "metadata": "everything"}))
    with pytest.raises(WorkflowCorrupt, match="'metadata' must be one of none, prompt, workflow, full"):
        WorkflowStore(tmp_path).load("odd")


def test_the_public_prompt_shares_no_node_with_the_queued_one() -> None:
    public = public_prompt(QUEUED, OWN)
    assert all(public[n] is not QUEUED[n] and public[n]["inputs"] is not QUEUED[n]["inputs"] for n in public)
