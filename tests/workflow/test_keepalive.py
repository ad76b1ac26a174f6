from __future__ import annotations

import copy
from typing import Any

from support.workflows import node

from connect.comfy.nodespec import NodeSpec
from connect.workflow.endpoint import parse_endpoint
from connect.workflow.keepalive import PREFIX, ancestors, keepalive_nodes
from connect.workflow.store import SavedWorkflow

SPECS = {
    spec.class_type: spec
    for spec in [
        NodeSpec("CheckpointLoaderSimple", outputs=("MODEL", "CLIP", "VAE")),
        NodeSpec("UpscaleModelLoader", outputs=("UPSCALE_MODEL",)),
        NodeSpec("LoraLoader", outputs=("MODEL", "CLIP")),
        NodeSpec("CLIPTextEncode", outputs=("CONDITIONING",)),
        NodeSpec("EmptyLatentImage", outputs=("LATENT",)),
        NodeSpec("KSampler", outputs=("LATENT",)),
        NodeSpec("VAEDecode", outputs=("IMAGE",)),
        NodeSpec("SaveImage", output_node=True),
        NodeSpec("PreviewImage", output_node=True),
    ]
}


def txt2img(loader_title: str = "[!cache]", lora_title: str = "") -> dict[str, dict[str, Any]]:
    return {
        "4": node("CheckpointLoaderSimple", loader_title, ckpt_name="tiny.safetensors"),
        "10": node(
            "LoraLoader", lora_title, lora_name="l.safetensors", strength_model=1.0, strength_clip=1.0, model=["4", 0], clip=["4", 1]
        ),
        "6": node("CLIPTextEncode", text="a", clip=["10", 1]),
        "7": node("CLIPTextEncode", text="b", clip=["10", 1]),
        "5": node("EmptyLatentImage", width=64, height=64, batch_size=1),
        "3": node(
            "KSampler",
            seed=1,
            steps=2,
            cfg=8.0,
            sampler_name="euler",
            scheduler="normal",
            denoise=1.0,
            model=["10", 0],
            positive=["6", 0],
            negative=["7", 0],
            latent_image=["5", 0],
        ),
        "8": node("VAEDecode", samples=["3", 0], vae=["4", 2]),
        "9": node("SaveImage", "#out", filename_prefix="x", images=["8", 0]),
    }


def saved(name: str, prompt: dict[str, Any]) -> SavedWorkflow:
    return SavedWorkflow(name, parse_endpoint(prompt), None, "")


def test_ancestors_follow_links_to_the_roots() -> None:
    prompt = txt2img()
    assert ancestors(prompt, ["4"]) == ["4"]
    assert ancestors(prompt, ["10"]) == ["10", "4"]
    assert ancestors(prompt, ["8"]) == ["10", "3", "4", "5", "6", "7", "8"]
    assert ancestors(prompt, ["9"]) == sorted(prompt)


def test_ancestors_of_several_nodes_and_unknown_ids() -> None:
    prompt = txt2img()
    assert ancestors(prompt, ["6", "5", "404"]) == ["10", "4", "5", "6"]
    assert ancestors(prompt, []) == []


def test_keepalive_copies_cached_nodes_and_their_ancestors_under_new_ids() -> None:
    kept = keepalive_nodes([saved("a", txt2img(loader_title="", lora_title="!cache"))], SPECS.get)
    assert sorted(kept) == [f"{PREFIX}-0-10", f"{PREFIX}-0-4"]
    assert kept[f"{PREFIX}-0-4"] == node("CheckpointLoaderSimple", "", ckpt_name="tiny.safetensors")
    lora = kept[f"{PREFIX}-0-10"]
    assert lora["inputs"]["model"] == [f"{PREFIX}-0-4", 0]
    assert lora["inputs"]["clip"] == [f"{PREFIX}-0-4", 1]
    assert lora["inputs"]["lora_name"] == "l.safetensors"


def test_keepalive_of_several_workflows_numbers_them_by_name() -> None:
    upscale = {
        "1": node("UpscaleModelLoader", "!cache", model_name="x4.safetensors"),
        "2": node("PreviewImage", "#out"),
    }
    kept = keepalive_nodes([saved("zeta", upscale), saved("alpha", txt2img()), saved("none", txt2img(loader_title=""))], SPECS.get)
    assert sorted(kept) == [f"{PREFIX}-0-4", f"{PREFIX}-2-1"]
    assert kept[f"{PREFIX}-2-1"]["inputs"] == {"model_name": "x4.safetensors"}


def test_keepalive_never_changes_the_saved_prompts() -> None:
    workflow = saved("a", txt2img(lora_title="!cache"))
    before = copy.deepcopy(workflow.endpoint.prompt)
    kept = keepalive_nodes([workflow], SPECS.get)
    kept[f"{PREFIX}-0-10"]["inputs"]["lora_name"] = "changed"
    assert workflow.endpoint.prompt == before


def test_nodes_of_unknown_classes_are_left_out() -> None:
    # ComfyUI refuses a whole prompt that names a class it does not have.
    prompt = txt2img(lora_title="!cache")
    prompt["10"]["class_type"] = "NotInstalledLora"
    assert list(keepalive_nodes([saved("a", prompt)], SPECS.get)) == [f"{PREFIX}-0-4"]
    prompt["4"]["class_type"] = "NotInstalledLoader"  # now an ancestor of every cached node is unknown
    assert keepalive_nodes([saved("a", prompt)], SPECS.get) == {}


def test_output_nodes_are_never_kept_alive() -> None:
    # ComfyUI runs every output node of a prompt: a kept copy of one would run with every call.
    prompt = txt2img(loader_title="")
    prompt["9"]["_meta"]["title"] = "#out !cache"
    assert keepalive_nodes([saved("a", prompt)], SPECS.get) == {}
    prompt["4"]["_meta"]["title"] = "!cache"
    assert list(keepalive_nodes([saved("a", prompt)], SPECS.get)) == [f"{PREFIX}-0-4"]


def test_no_cache_nodes_no_keepalive() -> None:
    assert keepalive_nodes([saved("a", txt2img(loader_title=""))], SPECS.get) == {}
    assert keepalive_nodes([], SPECS.get) == {}
