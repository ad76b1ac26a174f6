"""What a loader input expects, and checking a caller's file against it before ComfyUI sees it.

    kind = loader_kind(spec.input("image"))       # LoadImage, LoadImageMask -> "image"
    suffix = check_file("load.image", path, kind, max_pixels=8192 * 8192)

A loader's kind comes from its upload flag (``image_upload``, ``video_upload``, ``audio_upload``),
the same flag ComfyUI's editor uses to offer an upload button. The checks:

- image: Pillow reads the header (width x height x frames at most ``max_pixels``, else 413: no
  decompression bomb is ever decoded), ``verify()`` checks the structure, then the first frame is
  decoded. Anything Pillow cannot read is a 400.
- video / audio: PyAV opens the container, which must hold a stream of that kind; a video frame may
  have at most ``max_pixels``; the first frame is decoded. ComfyUI's LoadVideo and LoadAudio list
  only files whose extension is a video (or audio) type, so the returned suffix is one they list.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ..comfy.nodespec import InputSpec
from ..errors import InputFileError
from .pixels import too_many_pixels

LoaderKind = Literal["image", "video", "audio"]
_FLAGS: dict[str, LoaderKind] = {"image_upload": "image", "video_upload": "video", "audio_upload": "audio"}
# PyAV's container format name (its first alias) -> a suffix ComfyUI's loaders list.
_VIDEO_SUFFIXES = {"mov": ".mp4", "matroska": ".mkv", "avi": ".avi", "ogg": ".ogv", "mpeg": ".mpg", "asf": ".wmv", "flv": ".flv"}
_AUDIO_SUFFIXES = {"flac": ".flac", "wav": ".wav", "mp3": ".mp3", "ogg": ".ogg", "mov": ".m4a", "matroska": ".mkv", "aiff": ".aiff"}
_WEBM_CODECS = {"vp8", "vp9", "av1", "opus", "vorbis"}


def loader_kind(spec: InputSpec | None) -> LoaderKind | None:
    if spec is None:
        return None
    return next((kind for flag, kind in _FLAGS.items() if spec.options.get(flag)), None)


def check_file(path: str, file: Path, kind: LoaderKind | None, max_pixels: int | None, hint: str | None = None) -> str | None:
    """Refuse a file its loader cannot use (400) or that is too large once decoded (413).

    Returns the suffix the file must be stored with, or None when any suffix will do.
    """
    if kind == "image":
        check_image_file(path, file, max_pixels)
        return None
    if kind in ("video", "audio"):
        return _check_av(path, file, kind, max_pixels, hint)
    return None


def check_image_file(path: str, file: Path, max_pixels: int | None) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            width, height = image.size
            frames = int(getattr(image, "n_frames", 1))
            # ComfyUI's LoadImage decodes every frame into one tensor: the frames count too.
            if max_pixels is not None and width * height * frames > max_pixels:
                raise too_many_pixels(path, (width, height), width * height * frames, max_pixels, frames)
            image.verify()
        with Image.open(file) as image:
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_many_pixels(path, None, None, max_pixels or Image.MAX_IMAGE_PIXELS or 0) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InputFileError(
            f"'{path}': the loader expects an image, and this file is not one Pillow can read ({_reason(exc)})",
            {"path": path, "reason": "not_an_image"},
        ) from exc


def _check_av(path: str, file: Path, kind: LoaderKind, max_pixels: int | None, hint: str | None) -> str:
    import av

    try:
        with av.open(str(file)) as container:
            streams = container.streams.video if kind == "video" else container.streams.audio
            if not streams:
                raise _not_a(path, kind, f"it holds no {kind} stream")
            stream = streams[0]
            if kind == "video":
                context: Any = stream.codec_context
                width, height = context.width, context.height
                if max_pixels is not None and width * height > max_pixels:
                    raise too_many_pixels(path, (width, height), width * height, max_pixels)
            if next(iter(container.decode(stream)), None) is None:
                raise _not_a(path, kind, "no frame could be decoded")
            suffix = _suffix(path, kind, container, hint)
    except av.error.FFmpegError as exc:
        raise _not_a(path, kind, _reason(exc)) from exc
    return suffix


def _suffix(path: str, kind: LoaderKind, container: Any, hint: str | None) -> str:
    wanted = ("video",) if kind == "video" else ("audio", "video")  # LoadAudio also lists video files
    given = PurePosixPath(hint).suffix.lower() if hint else ""
    if given and _category(given) in wanted:
        return given
    names = str(container.format.name).split(",")
    codecs = {stream.codec_context.name for stream in container.streams}
    if "webm" in names and codecs <= _WEBM_CODECS:
        return ".webm"
    table = _VIDEO_SUFFIXES if kind == "video" else _AUDIO_SUFFIXES
    suffix = table.get(names[0])
    if suffix is None:
        raise _not_a(path, kind, f"its container format {container.format.name!r} is not one the {kind} loader lists")
    return suffix


def _category(suffix: str) -> str:
    # ComfyUI's loaders filter the input folder with exactly this call (folder_paths.filter_files_content_types).
    guessed = mimetypes.guess_type("x" + suffix, strict=False)[0]
    return guessed.split("/")[0] if guessed else ""


def _not_a(path: str, kind: str, why: str) -> InputFileError:
    return InputFileError(
        f"'{path}': the loader expects {'an audio' if kind == 'audio' else 'a video'} file, and this one cannot be used: {why}",
        {"path": path, "reason": f"not_{kind}"},
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
