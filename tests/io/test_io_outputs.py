"""Every kind of `#` output a ComfyUI 0.3.75 CPU install can produce, as it comes back through the API.

Runs here with stock nodes: image batches, animated WEBP and PNG (SaveAnimatedWEBP, SaveAnimatedPNG),
video (SaveWEBM with VP9, SaveVideo with H.264 and an AAC track), text (PreviewAny), a 3D mesh (SaveGLB),
another file type (SaveLatent), preview images (PreviewImage, temp folder). Audio: ComfyUI's SaveAudio
cannot be imported without torchaudio, so the test node ConnectTestSaveAudio writes FLAC with ComfyUI's
own AudioSaveHelper and reports SaveAudio's UI output ({"audio": [...]}); the plugin handles it like any
file output.
"""

from __future__ import annotations

import base64
import json
import struct
from io import BytesIO
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image
from support.client import Client
from support.disk import files_in
from support.images import pixels

pytestmark = pytest.mark.e2e


def detailed(comfy: Client, name: str, payload: Any = None) -> dict[str, list[dict[str, Any]]]:
    response = comfy.run(name, payload, output="detailed")
    assert response.status_code == 200, response.text[:2000]
    body: dict[str, list[dict[str, Any]]] = response.json()
    return body


def content(item: dict[str, Any]) -> bytes:
    data = base64.b64decode(item["content"])
    assert len(data) == item["size"]
    return data


def test_an_image_batch_comes_back_in_batch_order(comfy: Client) -> None:
    body = detailed(comfy, "io-batch")
    first, second = body["out"]
    assert (first["mime_type"], first["kind"], first["width"], first["height"], first["frames"]) == ("image/png", "image", 16, 16, 1)
    assert tuple(pixels(content(first))[0, 0]) == (255, 0, 0)
    assert tuple(pixels(content(second))[0, 0]) == (0, 255, 0)


@pytest.mark.parametrize(
    ("workflow", "mime", "frames", "duration"),
    [
        pytest.param("io-webp", "image/webp", 4, 0.5, id="SaveAnimatedWEBP"),  # 4 frames at 8 fps
        pytest.param("io-apng", "image/png", 3, 0.6, id="SaveAnimatedPNG"),  # 3 frames at 5 fps
    ],
)
def test_animated_images(comfy: Client, workflow: str, mime: str, frames: int, duration: float) -> None:
    [item] = detailed(comfy, workflow)["out"]
    assert (item["mime_type"], item["kind"], item["width"], item["height"]) == (mime, "image", 16, 16)
    assert item["frames"] == frames
    assert item["duration"] == pytest.approx(duration)
    with Image.open(BytesIO(content(item))) as image:  # what a client decodes agrees
        assert image.n_frames == frames


@pytest.mark.parametrize(
    ("workflow", "mime", "codec", "frames", "audio"),
    [
        pytest.param("io-webm", "video/webm", "vp9", 6, None, id="SaveWEBM"),
        pytest.param("io-mp4", "video/mp4", "h264", 5, "aac", id="CreateVideo-SaveVideo"),
    ],
)
def test_video(comfy: Client, workflow: str, mime: str, codec: str, frames: int, audio: str | None) -> None:
    [item] = detailed(comfy, workflow)["out"]
    assert (item["mime_type"], item["kind"], item["width"], item["height"], item["frames"]) == (mime, "video", 64, 64, frames)
    assert item["duration"] == pytest.approx(0.5, abs=0.1)
    with av.open(BytesIO(content(item)), mode="r") as container:
        assert container.streams.video[0].codec_context.name == codec
        assert sum(1 for _ in container.decode(video=0)) == frames
        assert [s.codec_context.name for s in container.streams.audio] == ([audio] if audio else [])


def test_audio(comfy: Client) -> None:
    [item] = detailed(comfy, "io-tone", {"tone": {"seconds": 0.75}})["out"]
    assert (item["mime_type"], item["kind"], item["subfolder"]) == ("audio/flac", "audio", "io-tone")
    assert (item["width"], item["height"], item["frames"]) == (None, None, None)
    assert item["duration"] == pytest.approx(0.75, abs=0.01)
    with av.open(BytesIO(content(item)), mode="r") as container:
        assert container.streams.audio[0].codec_context.sample_rate == 16000


def test_text_shown_by_a_node(comfy: Client) -> None:
    assert detailed(comfy, "io-text", {"text": {"value": "a caption"}}) == {
        "caption": [{"type": "value", "key": "text", "value": "a caption"}]
    }
    # The default shape: a value is an object under its UI key, a file a base64 string.
    default = comfy.run("io-text", {"text": {"value": "a caption"}})
    assert default.json() == {"caption": [{"text": "a caption"}]}
    mixed = comfy.run("io-mixed").json()
    assert mixed["width"] == [{"text": "16"}]
    assert isinstance(mixed["image"][0], str) and tuple(pixels(base64.b64decode(mixed["image"][0]))[0, 0]) == (255, 255, 0)


def test_3d_mesh(comfy: Client) -> None:
    [item] = detailed(comfy, "io-mesh")["mesh"]
    assert (item["mime_type"], item["kind"], item["subfolder"]) == ("model/gltf-binary", "model", "mesh")
    data = content(item)
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    chunk_length, chunk_type = struct.unpack("<II", data[12:20])
    gltf = json.loads(data[20 : 20 + chunk_length])
    assert chunk_type == 0x4E4F534A and gltf["meshes"], gltf


def test_other_files_in_the_output_folder(comfy: Client) -> None:
    [item] = detailed(comfy, "io-latent")["latent"]
    assert (item["mime_type"], item["kind"], item["filename"].endswith(".latent")) == ("application/octet-stream", "file", True)
    data = content(item)
    header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])  # a safetensors file
    assert header["latent_tensor"]["shape"] == [1, 4, 8, 8]


def test_preview_nodes_return_their_temp_files(comfy: Client) -> None:
    [item] = detailed(comfy, "io-preview")["preview"]
    assert (item["folder"], item["mime_type"], item["width"]) == ("temp", "image/png", 16)
    assert tuple(pixels(content(item))[0, 0]) == (0, 255, 255)
    assert files_in(comfy.temp) == []  # delivered, then deleted


def test_noise_frames_really_differ(comfy: Client) -> None:
    # Guards the fixture: identical frames would be merged by the encoders and prove nothing.
    [item] = detailed(comfy, "io-apng")["out"]
    with Image.open(BytesIO(content(item))) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB")).copy())
    assert not np.array_equal(frames[0], frames[1])
