"""Small solid-colour PNGs in and out of the API's base64 strings."""

from __future__ import annotations

import base64
import io
from typing import cast

from PIL import Image

RGB = tuple[int, int, int]


def png(color: RGB, size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def png_b64(color: RGB, size: tuple[int, int] = (8, 8)) -> str:
    return base64.b64encode(png(color, size)).decode("ascii")


def decode(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))
    image.load()
    return image


def rgb_of(color: int) -> RGB:
    """EmptyImage's `color` widget is 0xRRGGBB."""
    return (color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF


def inverted(color: RGB) -> RGB:
    r, g, b = color
    return 255 - r, 255 - g, 255 - b


def solid_color(image: Image.Image) -> RGB:
    """The one colour of a solid image, within ±1 (ComfyUI's float->uint8 step may truncate)."""
    extrema = cast(tuple[tuple[int, int], ...], image.convert("RGB").getextrema())
    for low, high in extrema:
        assert high - low <= 1, f"image is not a solid colour: per-channel extrema {extrema}"
    return (extrema[0][1], extrema[1][1], extrema[2][1])


def assert_color(image: Image.Image, expected: RGB) -> None:
    actual = solid_color(image)
    assert all(abs(a - e) <= 1 for a, e in zip(actual, expected, strict=True)), f"colour {actual}, expected {expected}"
