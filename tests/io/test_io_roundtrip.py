"""A 2048x2048 image through LoadImage -> SaveImage, sent in each input form, received in each delivery mode.

What "byte-exact" means here, and why each statement holds:

1. The input file is stored byte for byte (checked by its SHA-256, which also names it).
2. LoadImage decodes 8-bit RGB to float32 and SaveImage multiplies back and truncates to 8 bits; for
   every 8-bit value that is the same value again, so the pixels are unchanged.
3. SaveImage encodes with Pillow at compress_level 4 and, unless ComfyUI runs with --disable-metadata,
   adds the prompt as a PNG text chunk. The `comfy` server runs with --disable-metadata, and the test
   image is encoded by the same Pillow at level 4 without metadata: the file SaveImage writes is the
   very file that was sent. So the bytes received equal the bytes sent, end to end, in every mode.
4. With metadata (the `kept` server, ComfyUI's default), the output file differs from the input by
   its text chunk: there the pixels are equal and the bytes received equal the file ComfyUI wrote.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from support.client import Client
from support.filehost import FileHost
from support.images import b64, pixels, sha
from support.media import noise_png

pytestmark = pytest.mark.e2e

SIZE = 2048
IMAGE = noise_png(SIZE)


def send(server: Client, host: FileHost, form: str, mode: str) -> requests.Response:
    if form == "multipart":
        return server.run("io-image", {"load": {"image": {"type": "file", "part": "img"}}}, output=mode, files={"img": ("big.png", IMAGE)})
    if form == "url":
        spec: dict[str, Any] = {"type": "file", "url": host.serve("/big.png", IMAGE)}
    else:
        spec = {"type": "file", "content": b64(IMAGE), "name": "big.png"}
    return server.run("io-image", {"load": {"image": spec}}, output=mode)


def received(response: requests.Response, mode: str) -> tuple[bytes, str | None]:
    """The delivered file, and its name in ComfyUI's output folder where the mode tells it."""
    assert response.status_code == 200, response.text[:500]
    if mode == "raw":
        return response.content, response.headers["Content-Disposition"].split('"')[1]
    [item] = response.json()["out"]
    if mode == "url":
        return requests.get(item, timeout=60).content, item.rsplit("/", 1)[1]
    if mode == "detailed":
        assert (item["width"], item["height"], item["size"]) == (SIZE, SIZE, len(base64.b64decode(item["content"])))
        return base64.b64decode(item["content"]), item["filename"]
    return base64.b64decode(item), None


FORMS = ["base64", "url", "multipart"]
MODES = ["base64", "url", "raw", "detailed"]


def test_the_test_image_is_large_and_incompressible() -> None:
    assert pixels(IMAGE).shape == (SIZE, SIZE, 3)
    assert len(IMAGE) > SIZE * SIZE * 3  # noise: PNG cannot compress it, so every byte is really carried


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form", FORMS)
def test_bytes_received_are_the_bytes_sent(comfy: Client, host: FileHost, form: str, mode: str) -> None:
    data, _ = received(send(comfy, host, form, mode), mode)
    assert sha(data) == sha(IMAGE)
    assert (comfy.input / f"connect/connect-{sha(IMAGE)[:32]}.png").read_bytes() == IMAGE


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form", FORMS)
def test_with_metadata_pixels_round_trip_and_bytes_are_the_file_written(kept: Client, host: FileHost, form: str, mode: str) -> None:
    data, name = received(send(kept, host, form, mode), mode)
    assert (pixels(data) == pixels(IMAGE)).all()
    assert b"tEXtprompt" in data  # ComfyUI's metadata chunk: this is the file SaveImage wrote, not the input
    if name is not None:
        assert (kept.output / name).read_bytes() == data
