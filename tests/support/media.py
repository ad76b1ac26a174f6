"""Media files made on the spot for the tests: noise, animations, bombs, video and audio (PyAV); solid PNGs are in images.py."""

from __future__ import annotations

import io
import zlib
from fractions import Fraction

import av
import numpy as np
from PIL import Image


def noise_png(size: int, seed: int = 5) -> bytes:
    """Random RGB pixels, encoded exactly as ComfyUI's SaveImage encodes (Pillow, compress_level 4, no metadata)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=4)
    return buffer.getvalue()


def animated_png(frames: int, size: int) -> bytes:
    images = [Image.new("RGB", (size, size), (i * 40, 0, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "PNG", save_all=True, append_images=images[1:], duration=100)
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header announcing width x height, with a few bytes of data: never decode it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def video(
    colors: list[tuple[int, int, int]], size: tuple[int, int] = (32, 32), container: str = "webm", codec: str = "libvpx-vp9"
) -> bytes:
    """One frame per color, encoded with PyAV (the library ComfyUI's own video nodes use)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=Fraction(10))
        assert isinstance(stream, av.VideoStream), stream  # `codec` is a video codec
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for color in colors:
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), color, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def tone(seconds: float = 0.25, rate: int = 8000, container: str = "flac", codec: str = "flac") -> bytes:
    buffer = io.BytesIO()
    samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream), stream  # `codec` is an audio codec
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()
