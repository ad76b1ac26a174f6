"""Node definitions as ComfyUI 0.3.75 serves them at /object_info (abridged), for tests without ComfyUI."""

from __future__ import annotations

from typing import Any

from connect.comfy.nodespec import NodeSpec

OBJECT_INFO: dict[str, dict[str, Any]] = {
    "KSampler": {
        "input": {
            "required": {
                "model": ["MODEL", {"tooltip": "The model used for denoising the input latent."}],
                "seed": ["INT", {"default": 0, "min": 0, "max": 18446744073709551615, "control_after_generate": True}],
                "steps": ["INT", {"default": 20, "min": 1, "max": 10000, "tooltip": "The number of steps used in the denoising process."}],
                "cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}],
                "sampler_name": [["euler", "euler_ancestral", "heun", "dpmpp_2m"]],
                "scheduler": [["normal", "karras", "exponential"]],
                "latent_image": ["LATENT"],
                "denoise": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}],
            }
        },
        "output": ["LATENT"],
    },
    "EmptyLatentImage": {
        "input": {
            "required": {
                "width": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8}],
                "height": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8}],
                "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}],
            }
        },
        "output": ["LATENT"],
    },
    "EmptyHunyuanLatentVideo": {
        "input": {"required": {"length": ["INT", {"default": 25, "min": 1, "max": 16384, "step": 4}]}},
        "output": ["LATENT"],
    },
    "CLIPTextEncode": {
        "input": {"required": {"text": ["STRING", {"multiline": True, "dynamicPrompts": True}], "clip": ["CLIP"]}},
        "output": ["CONDITIONING"],
    },
    "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [[]]}}, "output": ["MODEL", "CLIP", "VAE"]},
    "LoadImage": {"input": {"required": {"image": [["example.png", "cat.jpg"], {"image_upload": True}]}}, "output": ["IMAGE", "MASK"]},
    "LoadImageOutput": {
        "input": {"required": {"image": ["COMBO", {"image_upload": True, "image_folder": "output", "remote": {"route": "/x"}}]}},
        "output": ["IMAGE", "MASK"],
    },
    "ImageScaleBy": {
        "input": {"required": {"image": ["IMAGE"], "upscale_method": ["COMBO", {"options": ["nearest-exact", "bilinear"]}]}},
        "output": ["IMAGE"],
    },
    "SaveImage": {"input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}}, "output": []},
    "Toggle": {"input": {"required": {"enabled": ["BOOLEAN", {"default": True}]}}, "output": []},
}


def spec(class_type: str) -> NodeSpec | None:
    info = OBJECT_INFO.get(class_type)
    return None if info is None else NodeSpec.from_object_info(class_type, info)
