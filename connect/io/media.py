"""What a file is: its MIME type, its kind, and what its header says about it.

    describe(Path("out/clip_00001_.webm"))
    -> Media(mime_type="video/webm", kind="video", size=48213, width=64, height=64, frames=8, duration=0.333)

The MIME type comes from the file name (ComfyUI's own nodes choose the extension from the format
they write). Width, height, frames and duration are read with Pillow for images and with PyAV
(which ComfyUI itself needs) for video and audio; whatever cannot be read stays ``None``.
"""

from __future__ import annotations

import mimetypes
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

OCTET_STREAM = "application/octet-stream"
# Python's table misses or misnames some of what ComfyUI nodes write.
_MIME_TYPES = {
    ".png": "image/png",
    ".apng": "image/apng",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".opus": "audio/ogg",
    ".ogg": "audio/ogg",
    ".m4a": "audio/mp4",
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".obj": "model/obj",
    ".stl": "model/stl",
    ".ply": "model/ply",
    ".fbx": OCTET_STREAM,
    ".latent": OCTET_STREAM,
    ".safetensors": OCTET_STREAM,
    ".json": "application/json",
    ".txt": "text/plain",
}
KINDS = ("image", "video", "audio", "model", "text", "file")


@dataclass(frozen=True)
class Media:
    mime_type: str
    kind: str  # one of KINDS
    size: int
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    duration: float | None = None  # seconds

    def facts(self) -> dict[str, Any]:
        return {
            "mime_type": self.mime_type,
            "kind": self.kind,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "duration": self.duration,
        }


def mime_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return _MIME_TYPES.get(suffix) or mimetypes.guess_type("x" + suffix, strict=False)[0] or OCTET_STREAM


def kind_of(mime: str) -> str:
    major = mime.split("/", 1)[0]
    if mime == "application/json":
        return "text"
    return major if major in KINDS else "file"


def describe(path: Path, name: str | None = None) -> Media:
    mime = mime_type(name or path.name)
    kind = kind_of(mime)
    size = path.stat().st_size
    if kind == "image" and mime != "image/svg+xml":
        return Media(mime, kind, size, *image_facts(path))
    if kind in ("video", "audio"):
        return Media(mime, kind, size, *av_facts(path))
    return Media(mime, kind, size)


Facts = tuple[int | None, int | None, int | None, float | None]  # width, height, frames, duration


def image_facts(path: Path) -> Facts:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Outputs come from ComfyUI, not from callers: a large one is not a bomb.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                frames = int(getattr(image, "n_frames", 1))
                return width, height, frames, _animation_seconds(image, frames)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, None, None, None


def _animation_seconds(image: Any, frames: int) -> float | None:
    if frames <= 1:
        return None
    total = 0.0
    for index in range(frames):
        image.seek(index)
        image.load()  # WebP sets a frame's duration only once it is decoded
        total += float(image.info.get("duration") or 0)
    return round(total / 1000, 6) if total else None


def av_facts(path: Path) -> Facts:
    import av

    width = height = frames = None
    try:
        with av.open(str(path)) as container:
            duration = _seconds(container.duration / av.time_base if container.duration else None, container)
            if container.streams.video:
                stream = container.streams.video[0]
                width, height = stream.codec_context.width or None, stream.codec_context.height or None
                # WebM does not store a frame count: count the packets (no decoding).
                frames = stream.frames or sum(1 for packet in container.demux(stream) if packet.size) or None
    except (av.error.FFmpegError, OSError, ValueError):
        return None, None, None, None
    return width, height, frames, duration


def _seconds(duration: float | None, container: Any) -> float | None:
    if duration is None:
        streams = [s for s in container.streams if s.duration and s.time_base]
        duration = max((float(s.duration * s.time_base) for s in streams), default=None)
    return round(float(duration), 6) if duration else None
