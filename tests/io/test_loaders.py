from __future__ import annotations

import mimetypes
from pathlib import Path

import pytest
from support.images import png
from support.media import animated_png, bomb_png, tone, video

from connect.comfy.nodespec import InputSpec
from connect.errors import InputFileError, PayloadTooLarge
from connect.io.loaders import _AUDIO_SUFFIXES, _VIDEO_SUFFIXES, check_file, loader_kind

CAP = 64 * 64


def write(tmp_path: Path, data: bytes, name: str = "upload.tmp") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({"image_upload": True}, "image"),  # LoadImage, LoadImageMask
        ({"video_upload": True}, "video"),  # LoadVideo (v3 Combo upload=UploadType.video)
        ({"audio_upload": True}, "audio"),  # LoadAudio
        ({"file_upload": True}, None),  # Load3D: no check of its own
        ({}, None),
    ],
)
def test_loader_kind_from_the_upload_flag(options: dict[str, bool], kind: str | None) -> None:
    assert loader_kind(InputSpec("image", "COMBO", options, True, ("a.png",))) == kind
    assert loader_kind(None) is None


def test_a_good_image_passes(tmp_path: Path) -> None:
    assert check_file("load.image", write(tmp_path, png(size=(64, 64))), "image", CAP) is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"plain text", "not one Pillow can read", id="garbage"),
        pytest.param(png(size=(32, 32))[:-20], "not one Pillow can read", id="truncated"),
        pytest.param(tone(), "not one Pillow can read", id="audio"),
    ],
)
def test_a_file_that_is_not_an_image_is_400(tmp_path: Path, data: bytes, words: str) -> None:
    with pytest.raises(InputFileError, match=words) as caught:
        check_file("load.image", write(tmp_path, data), "image", CAP)
    assert caught.value.status == 400
    assert caught.value.details == {"path": "load.image", "reason": "not_an_image"}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(bomb_png(65, 64), id="one-pixel-column-over"),
        pytest.param(bomb_png(100_000, 100_000), id="pillow-bomb"),
        pytest.param(animated_png(2, 64), id="frames-together-over"),
    ],
)
def test_too_many_pixels_is_413_before_decoding(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(PayloadTooLarge, match="CONNECT_MAX_IMAGE_PIXELS"):
        check_file("load.image", write(tmp_path, data), "image", CAP)


def test_an_animation_within_the_cap_passes(tmp_path: Path) -> None:
    assert check_file("load.image", write(tmp_path, animated_png(4, 32)), "image", CAP) is None


@pytest.mark.parametrize(
    ("data", "hint", "suffix"),
    [
        pytest.param(video([(0, 0, 0)]), None, ".webm", id="vp9-webm"),
        pytest.param(video([(0, 0, 0)]), "clip.mkv", ".mkv", id="hint-kept"),
        pytest.param(video([(0, 0, 0)]), "clip.png", ".webm", id="image-hint-replaced"),
        pytest.param(video([(0, 0, 0)], container="mp4", codec="mpeg4"), None, ".mp4", id="mp4"),
        pytest.param(video([(0, 0, 0)], container="avi", codec="mpeg4"), "x.bin", ".avi", id="avi"),
    ],
)
def test_video_suffix_is_one_loadvideo_lists(tmp_path: Path, data: bytes, hint: str | None, suffix: str) -> None:
    assert check_file("v.file", write(tmp_path, data), "video", CAP, hint) == suffix
    assert (mimetypes.guess_type("x" + suffix, strict=False)[0] or "").startswith("video/")


@pytest.mark.parametrize(
    ("data", "hint", "suffix"),
    [
        pytest.param(tone(), None, ".flac", id="flac"),
        pytest.param(tone(container="wav", codec="pcm_s16le"), None, ".wav", id="wav"),
        pytest.param(tone(container="mp3", codec="libmp3lame"), "voice.MP3", ".mp3", id="hint-lowercased"),
        pytest.param(video([(0, 0, 0)]), None, None, id="video-without-audio"),
    ],
)
def test_audio(tmp_path: Path, data: bytes, hint: str | None, suffix: str | None) -> None:
    if suffix is None:
        with pytest.raises(InputFileError, match="holds no audio stream"):
            check_file("a.audio", write(tmp_path, data), "audio", CAP, hint)
        return
    assert check_file("a.audio", write(tmp_path, data), "audio", CAP, hint) == suffix


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"\x1a\x45\xdf\xa3 broken", "cannot be used", id="garbage"),
        pytest.param(png(), "container format", id="an-image"),  # PyAV opens a PNG as a one-frame "video"
        pytest.param(tone(), "holds no video stream", id="audio-only"),
    ],
)
def test_a_file_that_is_not_a_video_is_400(tmp_path: Path, data: bytes, words: str) -> None:
    with pytest.raises(InputFileError, match=words) as caught:
        check_file("v.file", write(tmp_path, data), "video", CAP)
    assert caught.value.details == {"path": "v.file", "reason": "not_video"}


def test_a_video_frame_over_the_cap_is_413(tmp_path: Path) -> None:
    with pytest.raises(PayloadTooLarge, match="65x64"):
        check_file("v.file", write(tmp_path, video([(0, 0, 0)], size=(65, 64), container="mp4", codec="mpeg4")), "video", CAP)


def test_every_suffix_chosen_is_listed_by_comfyuis_filter() -> None:
    # folder_paths.filter_files_content_types keeps a file when mimetypes calls its extension video/ (or audio/).
    for suffix in _VIDEO_SUFFIXES.values():
        assert (mimetypes.guess_type("x" + suffix, strict=False)[0] or "").startswith("video/"), suffix
    for suffix in _AUDIO_SUFFIXES.values():
        assert (mimetypes.guess_type("x" + suffix, strict=False)[0] or "").split("/")[0] in ("audio", "video"), suffix


def test_no_kind_means_no_check(tmp_path: Path) -> None:
    assert check_file("x.y", write(tmp_path, b"anything"), None, CAP) is None
