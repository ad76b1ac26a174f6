"""Workflows, a small HTTP client and document checks shared by the contract tests.

A module of its own (not conftest.py): test modules import it by a name no other test folder uses.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import requests
from launcher import REPO, ComfyServer, prepare_base
from PIL import Image

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


def png_bytes(size: tuple[int, int] = (8, 8), color: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


class Api:
    """The plugin's HTTP API on one server, as a test talks to it."""

    def __init__(self, server: ComfyServer) -> None:
        self.server = server
        self.base = server.url + "/api/connect"
        self.http = requests.Session()

    def save(self, name: str, prompt: dict[str, Any]) -> requests.Response:
        response = self.http.put(f"{self.base}/workflows/{name}", json={"prompt": prompt}, timeout=30)
        assert response.status_code in (200, 201), response.text
        return response

    def run(self, name: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.http.post(f"{self.base}/workflows/{name}", json=body, timeout=120, **kwargs)

    def document(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base}/openapi.json", timeout=30)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    def object_info(self, class_type: str) -> dict[str, Any]:
        response = self.http.get(f"{self.server.url}/object_info/{class_type}", timeout=30)
        assert response.status_code == 200, response.text
        info: dict[str, Any] = response.json()[class_type]
        return info


def start_server(base: Path, **env: str) -> ComfyServer:
    prepare_base(base)
    (base / "input" / "example.png").write_bytes(png_bytes())
    return ComfyServer(base, env=env).start()


def documented_schema(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """The JSON schema the document gives for one response, with its components alongside."""
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def assert_documented(document: dict[str, Any], path: str, method: str, response: requests.Response) -> None:
    """The response's status is documented for the operation and its body matches that schema."""
    from jsonschema import Draft202012Validator

    schema = documented_schema(document, path, method, response.status_code)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(response.json())]
    assert not errors, f"{method} {path} -> {response.status_code} breaks the document: {errors}\n{response.text[:2000]}"
