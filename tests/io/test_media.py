from __future__ import annotations

import io
import mimetypes
from pathlib import Path

import pytest
from PIL import Image
from support.images import png
from support.media import animated_png, tone, video

from connect.io.media import KINDS, Media, describe, kind_of, mime_type


@pytest.mark.parametrize(
    ("name", "mime", "kind"),
    [
        ("a_00001_.png", "image/png", "image"),
        ("a.WEBP", "image/webp", "image"),
        ("clip.webm", "video/webm", "video"),
        ("video/clip.mp4", "video/mp4", "video"),
        ("tone.flac", "audio/flac", "audio"),
        ("tone.opus", "audio/ogg", "audio"),
        ("mesh.glb", "model/gltf-binary", "model"),
        ("x.latent", "application/octet-stream", "file"),
        ("notes.txt", "text/plain", "text"),
        ("no-extension", "application/octet-stream", "file"),
        ("odd.zzzz", "application/octet-stream", "file"),
    ],
)
def test_mime_type_and_kind(name: str, mime: str, kind: str) -> None:
    assert mime_type(name) == mime
    assert kind_of(mime) == kind
    assert kind in KINDS


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_describe_a_still_image(tmp_path: Path) -> None:
    data = png(size=(5, 3))
    assert describe(write(tmp_path, "a.png", data)) == Media("image/png", "image", len(data), 5, 3, 1, None)


def test_describe_animations(tmp_path: Path) -> None:
    apng = describe(write(tmp_path, "a.png", animated_png(3, 4)))  # 100 ms a frame
    assert (apng.frames, apng.duration, apng.width) == (3, 0.3, 4)
    frames = [Image.new("RGB", (6, 6), (i * 60, 0, 0)) for i in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=125, lossless=True)
    webp = describe(write(tmp_path, "a.webp", buffer.getvalue()))
    assert (webp.mime_type, webp.frames, webp.duration, webp.height) == ("image/webp", 4, 0.5, 6)


def test_describe_video_counts_frames_webm_does_not_store(tmp_path: Path) -> None:
    media = describe(write(tmp_path, "v.webm", video([(0, 0, 0)] * 5, size=(16, 8))))
    assert (media.kind, media.width, media.height, media.frames) == ("video", 16, 8, 5)
    assert media.duration == pytest.approx(0.5, abs=0.05)


def test_describe_audio(tmp_path: Path) -> None:
    media = describe(write(tmp_path, "t.flac", tone(seconds=0.25)))
    assert (media.kind, media.width, media.frames) == ("audio", None, None)
    assert media.duration == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize("name", ["broken.png", "broken.webm", "broken.flac"])
def test_describe_a_broken_file_still_gives_type_and_size(tmp_path: Path, name: str) -> None:
    media = describe(write(tmp_path, name, b"not what the name says"))
    assert (media.size, media.width, media.height, media.frames, media.duration) == (22, None, None, None, None)
    assert media.mime_type == mime_type(name)


def test_describe_other_files(tmp_path: Path) -> None:
    media = describe(write(tmp_path, "m.glb", b"glTF" + b"\0" * 8))
    assert media.facts() == {
        "mime_type": "model/gltf-binary",
        "kind": "model",
        "size": 12,
        "width": None,
        "height": None,
        "frames": None,
        "duration": None,
    }


def test_the_table_agrees_with_python_where_python_knows_the_type() -> None:
    # Only where Python's table is silent or wrong (.flac on old Pythons, .latent) does ours decide.
    for suffix in (".png", ".webp", ".webm", ".mp4", ".glb", ".mp3"):
        assert mime_type("x" + suffix) == mimetypes.guess_type("x" + suffix, strict=False)[0]
