from __future__ import annotations

import copy
from typing import Any

import pytest

from connect.comfy.nodespec import InputSpec, NodeSpec
from connect.errors import BypassError
from connect.workflow.bypass import apply_bypass


def inputs(*declared: str, optional: tuple[str, ...] = ()) -> tuple[InputSpec, ...]:
    """`inputs("image:IMAGE", "width:INT")`, in declaration order, required unless listed in `optional`."""
    specs = []
    for entry in declared:
        name, type_ = entry.split(":")
        specs.append(InputSpec(name, type_, required=name not in optional))
    return tuple(specs)


# The declarations of ComfyUI 0.3.75's classes (INPUT_TYPES order, RETURN_TYPES), written out by hand.
SPECS = {
    spec.class_type: spec
    for spec in [
        NodeSpec("LoadImage", inputs("image:COMBO"), ("IMAGE", "MASK")),
        NodeSpec("ImageInvert", inputs("image:IMAGE"), ("IMAGE",)),
        NodeSpec("ImageScale", inputs("image:IMAGE", "upscale_method:COMBO", "width:INT", "height:INT", "crop:COMBO"), ("IMAGE",)),
        NodeSpec("ImageToMask", inputs("image:IMAGE", "channel:COMBO"), ("MASK",)),
        NodeSpec(
            "ImageCompositeMasked",
            inputs("destination:IMAGE", "source:IMAGE", "x:INT", "y:INT", "resize_source:BOOLEAN", "mask:MASK", optional=("mask",)),
            ("IMAGE",),
        ),
        NodeSpec("ImageUpscaleWithModel", inputs("upscale_model:UPSCALE_MODEL", "image:IMAGE"), ("IMAGE",)),
        NodeSpec("UpscaleModelLoader", inputs("model_name:COMBO"), ("UPSCALE_MODEL",)),
        NodeSpec("CheckpointLoaderSimple", inputs("ckpt_name:COMBO"), ("MODEL", "CLIP", "VAE")),
        NodeSpec(
            "LoraLoader",
            inputs("model:MODEL", "clip:CLIP", "lora_name:COMBO", "strength_model:FLOAT", "strength_clip:FLOAT"),
            ("MODEL", "CLIP"),
        ),
        NodeSpec("CLIPTextEncode", inputs("text:STRING", "clip:CLIP"), ("CONDITIONING",)),
        NodeSpec(
            "ControlNetApplyAdvanced",
            inputs(
                "positive:CONDITIONING",
                "negative:CONDITIONING",
                "control_net:CONTROL_NET",
                "image:IMAGE",
                "strength:FLOAT",
                "start_percent:FLOAT",
                "end_percent:FLOAT",
                "vae:VAE",
                optional=("vae",),
            ),
            ("CONDITIONING", "CONDITIONING"),
        ),
        NodeSpec("ControlNetLoader", inputs("control_net_name:COMBO"), ("CONTROL_NET",)),
        NodeSpec("EmptyLatentImage", inputs("width:INT", "height:INT", "batch_size:INT"), ("LATENT",)),
        NodeSpec(
            "KSampler",
            inputs(
                "model:MODEL",
                "seed:INT",
                "steps:INT",
                "cfg:FLOAT",
                "sampler_name:COMBO",
                "scheduler:COMBO",
                "positive:CONDITIONING",
                "negative:CONDITIONING",
                "latent_image:LATENT",
                "denoise:FLOAT",
            ),
            ("LATENT",),
        ),
        NodeSpec("VAEDecode", inputs("samples:LATENT", "vae:VAE"), ("IMAGE",)),
        NodeSpec("SaveImage", inputs("images:IMAGE", "filename_prefix:STRING"), (), output_node=True),
    ]
}


def node(class_type: str, title: str = "", **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title or class_type}}


def image_chain() -> dict[str, dict[str, Any]]:
    """LoadImage -> ImageInvert -> ImageScale -> SaveImage."""
    return {
        "1": node("LoadImage", image="in.png"),
        "2": node("ImageInvert", "Invert !bypass", image=["1", 0]),
        "3": node("ImageScale", "$scale", upscale_method="bilinear", width=64, height=64, crop="disabled", image=["2", 0]),
        "4": node("SaveImage", "#out", filename_prefix="x", images=["3", 0]),
    }


def txt2img() -> dict[str, dict[str, Any]]:
    return {
        "4": node("CheckpointLoaderSimple", ckpt_name="v1-5.safetensors"),
        "10": node("LoraLoader", lora_name="style.safetensors", strength_model=1.0, strength_clip=1.0, model=["4", 0], clip=["4", 1]),
        "6": node("CLIPTextEncode", text="a bottle", clip=["10", 1]),
        "7": node("CLIPTextEncode", text="blurry", clip=["10", 1]),
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
        "9": node("SaveImage", filename_prefix="x", images=["8", 0]),
    }


def bypass(prompt: dict[str, Any], *node_ids: str) -> dict[str, Any]:
    return apply_bypass(prompt, node_ids, SPECS.get)


def test_consumer_is_rewired_to_the_bypassed_nodes_input() -> None:
    result = bypass(image_chain(), "2")
    assert "2" not in result
    assert result["3"]["inputs"]["image"] == ["1", 0]
    assert result["4"]["inputs"]["images"] == ["3", 0]


def test_chain_of_bypassed_nodes_is_followed_to_the_first_kept_node() -> None:
    result = bypass(image_chain(), "2", "3")
    assert sorted(result) == ["1", "4"]
    assert result["4"]["inputs"]["images"] == ["1", 0]


def test_chain_bypassed_in_any_order() -> None:
    prompt = image_chain()
    prompt["5"] = node("ImageInvert", image=["3", 0])
    prompt["4"]["inputs"]["images"] = ["5", 0]
    result = bypass(prompt, "5", "2", "3")
    assert result["4"]["inputs"]["images"] == ["1", 0]


def test_every_consumer_of_a_bypassed_node_is_rewired() -> None:
    prompt = image_chain()
    prompt["5"] = node("SaveImage", filename_prefix="y", images=["2", 0])
    result = bypass(prompt, "2")
    assert result["3"]["inputs"]["image"] == ["1", 0]
    assert result["5"]["inputs"]["images"] == ["1", 0]


def test_outputs_are_matched_by_type_and_same_index_first() -> None:
    # LoraLoader: MODEL (slot 0) passes `model` (index 0), CLIP (slot 1) passes `clip` (index 1).
    result = bypass(txt2img(), "10")
    assert result["3"]["inputs"]["model"] == ["4", 0]
    assert result["6"]["inputs"]["clip"] == ["4", 1]
    assert result["7"]["inputs"]["clip"] == ["4", 1]


def test_two_outputs_of_the_same_type_keep_their_own_inputs() -> None:
    # ControlNetApplyAdvanced returns (CONDITIONING, CONDITIONING): positive stays positive, negative negative.
    prompt = txt2img()
    prompt["11"] = node("ControlNetLoader", control_net_name="cn.safetensors")
    prompt["12"] = node("LoadImage", image="hint.png")
    prompt["13"] = node(
        "ControlNetApplyAdvanced",
        strength=1.0,
        start_percent=0.0,
        end_percent=1.0,
        positive=["6", 0],
        negative=["7", 0],
        control_net=["11", 0],
        image=["12", 0],
    )
    prompt["3"]["inputs"]["positive"] = ["13", 0]
    prompt["3"]["inputs"]["negative"] = ["13", 1]
    result = bypass(prompt, "13")
    assert result["3"]["inputs"]["positive"] == ["6", 0]
    assert result["3"]["inputs"]["negative"] == ["7", 0]


def test_first_input_of_the_type_when_the_same_index_does_not_match() -> None:
    # ImageUpscaleWithModel(upscale_model, image) -> IMAGE: slot 0 is not the UPSCALE_MODEL input.
    prompt = image_chain()
    prompt["5"] = node("UpscaleModelLoader", model_name="x4.safetensors")
    prompt["2"] = node("ImageUpscaleWithModel", upscale_model=["5", 0], image=["1", 0])
    result = bypass(prompt, "2")
    assert result["3"]["inputs"]["image"] == ["1", 0]


def test_first_linked_input_of_the_type_is_used() -> None:
    # ImageCompositeMasked(destination, source, ...) -> IMAGE passes `destination` (same index, IMAGE).
    prompt = image_chain()
    prompt["5"] = node("LoadImage", image="other.png")
    prompt["2"] = node("ImageCompositeMasked", x=0, y=0, resize_source=False, destination=["5", 0], source=["1", 0])
    result = bypass(prompt, "2")
    assert result["3"]["inputs"]["image"] == ["5", 0]


def test_optional_input_fed_by_an_unrewirable_node_is_dropped() -> None:
    # ImageToMask(image) -> MASK has no MASK input; ImageCompositeMasked's `mask` is optional.
    prompt = image_chain()
    prompt["5"] = node("ImageToMask", channel="red", image=["1", 0])
    prompt["6"] = node("ImageCompositeMasked", x=0, y=0, resize_source=False, destination=["1", 0], source=["3", 0], mask=["5", 0])
    result = bypass(prompt, "5")
    assert "mask" not in result["6"]["inputs"]
    assert result["6"]["inputs"]["destination"] == ["1", 0]


def test_required_input_fed_by_an_unrewirable_node_is_a_bypass_error() -> None:
    prompt = txt2img()
    prompt["8"]["_meta"]["title"] = "Decode $decode()"
    with pytest.raises(BypassError) as info:
        bypass(prompt, "8")
    error = info.value
    assert error.status == 400
    assert error.details == {"node_id": "8", "title": "Decode $decode()", "consumer": "9", "input": "images", "type": "IMAGE"}
    assert "node 8 ('Decode $decode()', VAEDecode)" in error.message
    assert "feeds node 9 input 'images'" in error.message
    assert "no linked input of type IMAGE" in error.message


def test_unlinked_input_of_the_right_type_cannot_be_passed_through() -> None:
    # LoadImage's only input is a file name (COMBO): nothing of type IMAGE to pass on.
    with pytest.raises(BypassError, match=r"node 1 .*output 0 \(IMAGE\) feeds node 2 input 'image'"):
        bypass(image_chain(), "1")


def test_unknown_class_cannot_be_bypassed_into_a_required_input() -> None:
    prompt = image_chain()
    prompt["2"]["class_type"] = "NotInstalled"
    with pytest.raises(BypassError, match=r"output 0 \(\?\)") as info:
        bypass(prompt, "2")
    assert info.value.details["type"] == "?"


def test_bypassing_an_output_node_just_removes_it() -> None:
    prompt = image_chain()
    result = bypass(prompt, "4")
    assert sorted(result) == ["1", "2", "3"]
    assert result["3"] == prompt["3"]


def test_unknown_ids_and_empty_bypass_leave_the_prompt_as_is() -> None:
    prompt = image_chain()
    assert bypass(prompt) is prompt
    assert bypass(prompt, "99") is prompt


def test_the_given_prompt_is_not_changed() -> None:
    prompt = txt2img()
    before = copy.deepcopy(prompt)
    result = bypass(prompt, "10")
    assert prompt == before
    assert result["3"]["inputs"] is not prompt["3"]["inputs"]
