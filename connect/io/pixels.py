"""A cap on the pixels of an image a caller sends.

A file input that is an image may have at most ``max_pixels`` pixels (width x height, read from its
header before anything is decoded), which also stops decompression bombs. For an image loader's
input, loaders.py counts every frame, and a video loader's frames are capped too.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from ..errors import PayloadTooLarge


def check_image(path: str, data: bytes | Path, max_pixels: int) -> None:
    """Refuse an image whose header announces more than `max_pixels`; other files pass."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard fires inside open() for images far over its default limit.
        announced = re.search(r"\((\d+) pixels\)", str(exc))
        raise too_many_pixels(path, None, int(announced.group(1)) if announced else None, max_pixels) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return  # not an image Pillow can read: the loader node decides what it is
    if width * height > max_pixels:
        raise too_many_pixels(path, (width, height), width * height, max_pixels)


def too_many_pixels(path: str, size: tuple[int, int] | None, pixels: int | None, limit: int, frames: int = 1) -> PayloadTooLarge:
    if size and frames > 1:
        shown = f"{frames} frames of {size[0]}x{size[1]} = {pixels} pixels"
    else:
        shown = f"{size[0]}x{size[1]} = {pixels} pixels" if size else f"{pixels or 'too many'} pixels"
    return PayloadTooLarge(
        f"'{path}': the image is too large ({shown}); at most {limit} pixels are accepted (CONNECT_MAX_IMAGE_PIXELS)",
        {"path": path, "width": size[0] if size else None, "height": size[1] if size else None, "pixels": pixels, "limit": limit},
    )
