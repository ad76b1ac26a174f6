from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.workflows import link, node

from connect.comfy.nodespec import NodeSpec
from connect.errors import EndpointNotReady
from connect.run.ready import ReadinessChecks, input_file_exists, self_checked
from connect.workflow.endpoint import parse_endpoint
from connect.workflow.store import SavedWorkflow


class Box:
    """Node definitions whose model list changes like a folder, and a count of how often they are read."""

    def __init__(self, models: list[str]) -> None:
        self.models = models
        self.reads = 0

    def spec(self, class_type: str) -> NodeSpec | None:
        self.reads += 1
        infos: dict[str, dict[str, Any]] = {
            "Loader": {"input": {"required": {"name": [list(self.models), {}]}}, "output": ["MODEL"]},
            "Use": {"input": {"required": {"model": ["MODEL", {}]}}, "output": ["IMAGE"]},
            "Save": {"input": {"required": {"images": ["IMAGE", {}]}}, "output": [], "output_node": True},
        }
        info = infos.get(class_type)
        return None if info is None else NodeSpec.from_object_info(class_type, info)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def saved(model: str = "m.safetensors", loader_title: str = "Loader $loader") -> SavedWorkflow:
    prompt = {
        "1": node("Loader", loader_title, name=model),
        "2": node("Use", "", model=link("1")),
        "3": node("Save", "Save #out", images=link("2")),
    }
    return SavedWorkflow("wf", parse_endpoint(prompt), None, "2026-12-01T00:00:00Z")


def with_model(workflow: SavedWorkflow, model: str) -> dict[str, dict[str, Any]]:
    prompt = dict(workflow.endpoint.prompt)
    prompt["1"] = {**prompt["1"], "inputs": {"name": model}}
    return prompt


def test_a_ready_verdict_is_reused_for_a_second_then_read_again() -> None:
    box, clock = Box(["m.safetensors"]), Clock()
    checks = ReadinessChecks(box.spec, clock=clock)
    workflow = saved()
    checks.check_run(workflow, workflow.endpoint.prompt)
    reads = box.reads
    clock.now = 0.9
    checks.check_run(workflow, workflow.endpoint.prompt)
    assert box.reads == reads  # nothing read again: the cost of a run on a ready endpoint
    box.models = []
    clock.now = 1.5
    with pytest.raises(EndpointNotReady) as raised:
        checks.check_run(workflow, workflow.endpoint.prompt)
    assert raised.value.details == {
        "name": "wf",
        "missing": [
            {
                "kind": "model_file",
                "node_id": "1",
                "class_type": "Loader",
                "title": "Loader $loader",
                "input": "name",
                "value": "m.safetensors",
            }
        ],
    }
    assert "'m.safetensors' (node 1 'Loader $loader', Loader.name)" in raised.value.message


def test_a_verdict_that_is_not_ready_never_refuses_without_reading_again() -> None:
    box, clock = Box([]), Clock()
    checks = ReadinessChecks(box.spec, clock=clock)
    workflow = saved()
    assert not checks.of(workflow).ready
    box.models = ["m.safetensors"]  # copied in: runs at once, within the second
    checks.check_run(workflow, workflow.endpoint.prompt)


def test_a_callers_value_stands_in_for_a_missing_default() -> None:
    box = Box(["other.safetensors"])
    checks = ReadinessChecks(box.spec)
    workflow = saved()
    assert not checks.of(workflow).ready
    checks.check_run(workflow, with_model(workflow, "other.safetensors"))
    with pytest.raises(EndpointNotReady):
        checks.check_run(workflow, workflow.endpoint.prompt)


def test_a_changed_endpoint_is_judged_again() -> None:
    box = Box(["m.safetensors"])
    checks = ReadinessChecks(box.spec)
    checks.check_run(saved(), saved().endpoint.prompt)
    changed = saved(model="gone.safetensors")
    with pytest.raises(EndpointNotReady):
        checks.check_run(changed, changed.endpoint.prompt)


@pytest.mark.parametrize(
    ("name", "exists"),
    [
        pytest.param("photo.png", True, id="top-level"),
        pytest.param("photo.png [input]", True, id="annotated"),
        pytest.param("made.png [output]", True, id="annotated-output"),
        pytest.param("photo.png [output]", False, id="annotated-elsewhere"),
        pytest.param("connect/x.png", True, id="subfolder"),
        pytest.param("absent.png", False, id="absent"),
        pytest.param("../outside.png", False, id="parent"),
        pytest.param("/etc/passwd", False, id="absolute"),
        pytest.param("connect", False, id="a-folder"),
        pytest.param("x.png [temp]", False, id="no-such-folder"),
    ],
)
def test_input_file_exists(tmp_path: Path, name: str, exists: bool) -> None:
    folders = {"input": tmp_path / "input", "output": tmp_path / "output"}
    (folders["input"] / "connect").mkdir(parents=True)
    folders["output"].mkdir()
    (folders["input"] / "photo.png").write_bytes(b"x")
    (folders["input"] / "connect" / "x.png").write_bytes(b"x")
    (folders["output"] / "made.png").write_bytes(b"x")
    (tmp_path / "outside.png").write_bytes(b"x")
    assert input_file_exists(folders.get, name) is exists


def test_only_a_node_that_checks_the_input_itself_takes_a_value_its_list_lacks(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(b"x")
    accepts = self_checked(lambda class_type, input_name: class_type == "LoadImage", {"input": tmp_path}.get)
    assert accepts("LoadImage", "image", "photo.png", "input_file")
    assert not accepts("LoadImage", "image", "absent.png", "input_file")
    assert accepts("LoadImage", "mode", "anything", "choice")  # its own check decides, in ComfyUI's validation
    assert not accepts("LoadImageMask2", "image", "photo.png", "input_file")


def test_a_renamed_class_is_judged_under_the_name_comfyui_runs_it_by() -> None:
    # ComfyUI 0.33.0 replaces renamed classes before validating (POST /prompt): "OldUse" runs as "Use".
    box = Box(["m.safetensors"])
    workflow = saved()
    old = {**workflow.endpoint.prompt, "2": {**workflow.endpoint.prompt["2"], "class_type": "OldUse"}}
    renamed = SavedWorkflow("wf", parse_endpoint(old), None, "2026-12-01T00:00:00Z")

    def replaced(prompt: dict[str, Any]) -> dict[str, Any]:
        return {n: {**node, "class_type": "Use"} if node["class_type"] == "OldUse" else node for n, node in prompt.items()}

    assert not ReadinessChecks(box.spec).of(renamed).ready
    assert ReadinessChecks(box.spec, replaced=replaced).of(renamed).ready
    assert renamed.endpoint.prompt["2"]["class_type"] == "OldUse"
