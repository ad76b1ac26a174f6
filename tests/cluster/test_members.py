from __future__ import annotations

from support.workflows import link, node

from connect.cluster.members import cached_models, heartbeat
from connect.comfy.nodespec import NodeSpec
from connect.workflow.endpoint import parse_endpoint
from connect.workflow.store import SavedWorkflow

SPECS = {
    s.class_type: s
    for s in [
        NodeSpec("UpscaleModelLoader", outputs=("UPSCALE_MODEL",)),
        NodeSpec("LoadImage", outputs=("IMAGE",)),
        NodeSpec("ImageUpscaleWithModel", outputs=("IMAGE",)),
        NodeSpec("SaveImage", output_node=True),
    ]
}


def upscale(loader_title: str) -> SavedWorkflow:
    prompt = {
        "1": node("UpscaleModelLoader", loader_title, model_name="4x.safetensors"),
        "2": node("LoadImage", "Load $image", image="example.png"),
        "3": node("ImageUpscaleWithModel", upscale_model=link("1"), image=link("2")),
        "4": node("SaveImage", "Save #out", images=link("3"), filename_prefix="x"),
    }
    return SavedWorkflow("up", parse_endpoint(prompt), None, "")


def test_the_heartbeat_names_the_models_its_cache_nodes_keep() -> None:
    assert cached_models([upscale("Loader !cache")], SPECS.get) == [
        {"class_type": "UpscaleModelLoader", "input": "model_name", "model": "4x.safetensors"}
    ]
    assert cached_models([upscale("Loader")], SPECS.get) == []  # not kept: loaded only while it runs


def test_the_heartbeat_state_follows_the_queue_and_the_worker() -> None:
    machine = {"comfyui_version": "0.3.75", "device": "cuda:0 NVIDIA L4", "vram_total": 24, "vram_free": 20, "port": 8188}

    def state(depth: int, alive: bool) -> str:
        return str(heartbeat("a", "both", "0.1.0", machine, depth, alive, [], 0, 0.0)["state"])

    assert (state(0, True), state(2, True), state(0, False)) == ("idle", "busy", "stalled")
    beat = heartbeat("a", "worker", "0.1.0", machine, 3, True, [], 5, 0.0)
    assert beat["gpu"] == {"name": "cuda:0 NVIDIA L4", "vram_total": 24, "vram_free": 20}
    assert (beat["role"], beat["queue_depth"], beat["workflows"], beat["comfyui_version"]) == ("worker", 3, 5, "0.3.75")
