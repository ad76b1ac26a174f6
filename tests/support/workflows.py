"""API-format prompts the tests save as endpoints, and a check that the server still serves."""

from __future__ import annotations

import itertools
import json
from typing import Any

from launcher import REPO

from .client import Client
from .images import assert_color, rgb_of

Prompt = dict[str, dict[str, Any]]

_colors = itertools.count(0x102030, 0x010101)


def node(class_type: str, title: str = "", **inputs: Any) -> dict[str, Any]:
    """One API-format node, as `app.graphToPrompt().output` writes it."""
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def link(node_id: str, slot: int = 0) -> list[Any]:
    return [node_id, slot]


def canvas(canvas_title: str = "Canvas $canvas", save_title: str = "Save #out", **inputs: int) -> Prompt:
    """EmptyImage -> SaveImage."""
    widgets = {"width": 8, "height": 8, "batch_size": 1, "color": 0, **inputs}
    return {
        "1": node("EmptyImage", canvas_title, **widgets),
        "2": node("SaveImage", save_title, images=link("1"), filename_prefix="e2e"),
    }


def load_invert(load_title: str = "Load $load", invert_title: str = "Invert $invert()", save_title: str = "Save #out") -> Prompt:
    """LoadImage -> ImageInvert -> SaveImage."""
    return {
        "1": node("LoadImage", load_title, image="example.png"),
        "2": node("ImageInvert", invert_title, image=link("1")),
        "3": node("SaveImage", save_title, images=link("2"), filename_prefix="e2e"),
    }


def file_input(b64: str, name: str | None = None) -> dict[str, str]:
    spec = {"type": "file", "content": b64}
    if name is not None:
        spec["name"] = name
    return spec


def chain(middle: dict[str, Any] | None = None, canvas_title: str = "Canvas $canvas(width,height,color,batch_size)") -> dict[str, Any]:
    """EmptyImage -> [middle node] -> SaveImage #out, as an API-format prompt."""
    prompt: dict[str, Any] = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
            "_meta": {"title": canvas_title},
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "safety"}, "_meta": {"title": "Save #out"}},
    }
    if middle is not None:
        prompt["2"] = {**middle, "inputs": {"image": ["1", 0], **middle["inputs"]}}
        prompt["3"]["inputs"]["images"] = ["2", 0]
    return prompt


def steps_workflow() -> dict[str, Any]:
    """EmptyImage -> Steps (progress) -> Invert -> SaveImage #out: four nodes, one reporting steps."""
    return {
        "1": node("EmptyImage", "Canvas $canvas(color)", width=8, height=8, batch_size=1, color=0),
        "2": node("ConnectTestSteps", "Steps $steps", image=["1", 0], steps=3, seconds=0.05),
        "3": node("ImageInvert", "Invert", image=["2", 0]),
        "4": node("SaveImage", "Save #out", images=["3", 0], filename_prefix="jobs"),
    }


def slow_workflow() -> dict[str, Any]:
    """EmptyImage -> Slow -> SaveImage #out (the slow node re-runs every time)."""
    return {
        "1": node("EmptyImage", "Canvas $canvas(color)", width=8, height=8, batch_size=1, color=0),
        "2": node("ConnectTestSlow", "Slow $slow", image=["1", 0], seconds=0.0),
        "3": node("SaveImage", "Save #out", images=["2", 0], filename_prefix="jobs-slow"),
    }


# A text-to-image workflow plus an image branch: every node class the issue names. Saving it needs
# no model file (ComfyUI checks the checkpoint only when it runs).
TXT2IMG: dict[str, Any] = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "model.safetensors"}, "_meta": {"title": "Load $model"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a purple galaxy bottle", "clip": ["4", 1]}, "_meta": {"title": "$positive"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}, "_meta": {"title": "$negative(text)"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}, "_meta": {"title": "$latent"}},
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 1234,
            "steps": 20,
            "cfg": 7.5,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
        "_meta": {"title": "KSampler $sampler"},
    },
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}, "_meta": {"title": "VAE Decode"}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "txt2img"}, "_meta": {"title": "$save #output"}},
    "10": {"class_type": "LoadImage", "inputs": {"image": "example.png"}, "_meta": {"title": "$init"}},
    "11": {
        "class_type": "ImageScale",
        "inputs": {"image": ["10", 0], "upscale_method": "nearest-exact", "width": 256, "height": 256, "crop": "disabled"},
        "_meta": {"title": "$scale(upscale_method,width,height)"},
    },
    "12": {
        "class_type": "SaveImage",
        "inputs": {"images": ["11", 0], "filename_prefix": "scaled"},
        "_meta": {"title": "Save $keep() #scaled"},
    },
}


def invert_prompt(**canvas: Any) -> dict[str, Any]:
    """examples/invert.json, optionally with other saved canvas values."""
    prompt: dict[str, Any] = json.loads((REPO / "examples" / "invert.json").read_text())
    prompt["1"]["inputs"].update(canvas)
    return prompt


def assert_still_serving(api: Client) -> None:
    """After an error: the plugin runs the next call, ComfyUI's UI page loads and its own API runs a prompt."""
    api.saved("health", canvas())
    color = next(_colors)
    (image,) = api.run_ok("health", {"canvas": {"color": color}})["out"]
    assert_color(image, rgb_of(color))
    assert api.call("GET", "/").status_code == 200
    native = {"1": node("EmptyImage", width=4, height=4, batch_size=1, color=next(_colors)), "2": node("PreviewImage", images=link("1"))}
    assert api.native_run(native)["status"]["status_str"] == "success"
