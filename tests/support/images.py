"""Images in and out of the API: solid-colour PNGs, base64 strings, pixels and colour checks."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import cast

import numpy as np
import numpy.typing as npt
from PIL import Image

RGB = tuple[int, int, int]


def png(color: RGB = (255, 0, 0), size: tuple[int, int] = (8, 8), *, compress_level: int = 4) -> bytes:
    """A solid-colour RGB PNG (compress level 4, no metadata: as ComfyUI's SaveImage writes)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG", compress_level=compress_level)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def png_b64(color: RGB, size: tuple[int, int] = (8, 8)) -> str:
    return b64(png(color, size))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(b64_data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64_data, validate=True)))
    image.load()
    return image


def pixels(data: bytes) -> npt.NDArray[np.uint8]:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def first_pixel(b64_png: str) -> RGB:
    r, g, b = (int(value) for value in pixels(base64.b64decode(b64_png))[0, 0])
    return r, g, b


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
