"""Run payloads with plain values, end to end: each lands in the node input it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.client import Client
from support.images import assert_color, rgb_of
from support.workflows import Prompt, canvas, link, node

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("payload", "size", "color"),
    [
        pytest.param({}, (8, 8), 0x000000, id="saved-values"),
        pytest.param({"canvas": {"width": 3, "height": 7}}, (3, 7), 0x000000, id="size"),
        pytest.param({"canvas": {"color": 0xFF8000}}, (8, 8), 0xFF8000, id="color"),
        pytest.param({"canvas": {"width": 2, "height": 1, "color": 0x0A0B0C}}, (2, 1), 0x0A0B0C, id="all"),
    ],
)
def test_ints_set_the_empty_image(api: Client, payload: dict[str, Any], size: tuple[int, int], color: int) -> None:
    api.saved("payload/canvas", canvas())
    (image,) = api.run_ok("payload/canvas", payload)["out"]
    assert image.size == size
    assert_color(image, rgb_of(color))


def _composite() -> Prompt:
    return {
        "1": node("EmptyImage", "Destination $dest(width,height,color)", width=8, height=8, batch_size=1, color=0),
        "2": node("EmptyImage", "Source $src(color)", width=4, height=4, batch_size=1, color=0xFFFFFF),
        "3": node("ImageCompositeMasked", "Paste $paste", destination=link("1"), source=link("2"), x=0, y=0, resize_source=False),
        "4": node("ImageScaleBy", "Scale $scale", image=link("3"), upscale_method="bilinear", scale_by=1.0),
        "5": node("SaveImage", "Save #out", images=link("4"), filename_prefix="e2e"),
    }


def test_int_bool_float_and_combo_values(api: Client) -> None:
    api.saved("payload/composite", _composite())
    base = {"dest": {"width": 10, "height": 6, "color": 0x0000FF}, "src": {"color": 0xFF0000}}

    scale = {"scale_by": 2.0, "upscale_method": "nearest-exact"}
    (image,) = api.run_ok("payload/composite", {**base, "paste": {"x": 2, "y": 1}, "scale": scale})["out"]
    assert image.size == (20, 12)
    # The 4x4 source lands at (2, 1), then every pixel doubles: red covers x 4..11, y 2..9.
    assert image.getpixel((0, 0)) == (0, 0, 255)
    assert image.getpixel((4, 2)) == (255, 0, 0)
    assert image.getpixel((11, 9)) == (255, 0, 0)
    assert image.getpixel((12, 9)) == (0, 0, 255)

    (image,) = api.run_ok("payload/composite", {**base, "paste": {"resize_source": True}})["out"]
    assert image.size == (10, 6)
    assert_color(image, (255, 0, 0))


def test_string_value(api: Client, comfy_base: Path) -> None:
    api.saved("payload/prefix", canvas(save_title="Save $save(filename_prefix) #out"))
    api.run_ok("payload/prefix", {"save": {"filename_prefix": "payload-string/custom"}})
    assert list((comfy_base / "output" / "payload-string").glob("custom_*.png"))
