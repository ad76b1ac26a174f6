"""Files into loader inputs: base64 (with or without a data: URI), a URL, or a multipart/form-data part.

Image (LoadImage), mask (LoadImageMask), video (LoadVideo) and audio loaders. Audio: ComfyUI's
LoadAudio cannot be imported without torchaudio; the test node ConnectTestLoadAudio declares the same
input (an `audio_upload` combo of the input folder's audio and video files) and decodes with PyAV.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from io import BytesIO
from typing import Any

import av
import numpy as np
import pytest
import requests
from support.client import Client
from support.disk import files_in
from support.errors import assert_error
from support.filehost import FileHost
from support.images import b64, pixels, png, sha
from support.media import animated_png, bomb_png, tone, video
from support.streaming import stream_upload
from support.suites import MAX_BODY, MAX_FILE

pytestmark = pytest.mark.e2e
BIG_VIDEO = video([(0, 0, 0)], size=(3000, 3000), container="mp4", codec="mpeg4")  # 9 M pixels a frame, over MAX_PIXELS
STORED = re.compile(r"connect/connect-[0-9a-f]{32}\.[a-z0-9]+")

Send = Callable[[Client, str, str, str, bytes, str], requests.Response]


def by_base64(comfy: Client, workflow: str, group: str, field: str, data: bytes, name: str) -> requests.Response:
    return comfy.run(workflow, {group: {field: {"type": "file", "content": b64(data), "name": name}}})


def by_data_uri(comfy: Client, workflow: str, group: str, field: str, data: bytes, name: str) -> requests.Response:
    uri = "data:application/octet-stream;base64," + b64(data)
    return comfy.run(workflow, {group: {field: {"type": "file", "content": uri, "name": name}}})


def by_multipart(comfy: Client, workflow: str, group: str, field: str, data: bytes, name: str) -> requests.Response:
    return comfy.run(workflow, {group: {field: {"type": "file", "part": "upload"}}}, files={"upload": (name, data)})


def by_url(host: FileHost) -> Send:
    def send(comfy: Client, workflow: str, group: str, field: str, data: bytes, name: str) -> requests.Response:
        url = host.serve(f"/{sha(data)[:12]}/{name}", data)
        return comfy.run(workflow, {group: {field: {"type": "file", "url": url}}})

    return send


FORMS = ["base64", "data-uri", "url", "multipart"]


@pytest.fixture(params=FORMS)
def send(request: pytest.FixtureRequest, host: FileHost) -> Send:
    senders: dict[str, Send] = {"base64": by_base64, "data-uri": by_data_uri, "url": by_url(host), "multipart": by_multipart}
    return senders[request.param]


def stored_inputs(comfy: Client) -> list[str]:
    return [name for name in files_in(comfy.input) if STORED.fullmatch(name)]


def test_image_input(comfy: Client, send: Send) -> None:
    data = png((1, 2, 3), (5, 3))
    response = send(comfy, "io-image", "load", "image", data, "in.png")
    assert response.status_code == 200, response.text
    [out] = response.json()["out"]
    assert pixels(base64.b64decode(out)).tolist() == pixels(data).tolist()
    name = f"connect/connect-{sha(data)[:32]}.png"
    assert (comfy.input / name).read_bytes() == data  # stored byte for byte, under its hash


def test_mask_input(comfy: Client, send: Send) -> None:
    data = png((200, 7, 9), (4, 4))
    response = send(comfy, "io-mask", "mask", "image", data, "mask.png")
    assert response.status_code == 200, response.text
    [out] = response.json()["out"]
    assert np.all(pixels(base64.b64decode(out)) == 200)  # the red channel, as a grey mask image


def test_video_input(comfy: Client, send: Send) -> None:
    colors = [(255, 0, 0), (0, 0, 255), (0, 255, 0)]
    data = video(colors)
    response = send(comfy, "io-video", "video", "file", data, "clip.webm")
    assert response.status_code == 200, response.text
    frames = [pixels(base64.b64decode(f)) for f in response.json()["frames"]]
    assert len(frames) == 3
    for frame, color in zip(frames, colors, strict=True):
        assert np.abs(frame[16, 16].astype(int) - color).max() < 40, (frame[16, 16], color)  # lossy codec


def test_audio_input(comfy: Client, send: Send) -> None:
    data = tone(seconds=0.4, rate=8000)
    response = send(comfy, "io-audio", "audio", "audio", data, "voice.flac")
    assert response.status_code == 200, response.text
    [out] = response.json()["out"]
    with av.open(BytesIO(base64.b64decode(out)), mode="r") as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        assert (stream.codec_context.sample_rate, samples) == (8000, 3200)


def test_the_same_content_is_stored_once(comfy: Client) -> None:
    data = png((9, 9, 9), (6, 6))
    before = stored_inputs(comfy)
    for form in (by_base64, by_data_uri, by_multipart):
        assert form(comfy, "io-image", "load", "image", data, "again.png").status_code == 200
    added = sorted(set(stored_inputs(comfy)) - set(before))
    assert added == [f"connect/connect-{sha(data)[:32]}.png"]
    assert not [n for n in files_in(comfy.input) if n.startswith(".connect-")]  # no temporary file left


def test_names_come_from_content_never_from_the_caller(comfy: Client) -> None:
    data = png((3, 3, 3), (7, 7))
    response = comfy.run("io-image", {"load": {"image": {"type": "file", "part": "p"}}}, files={"p": ("../../evil.png", data)})
    assert response.status_code == 200, response.text
    assert (comfy.input / f"connect/connect-{sha(data)[:32]}.png").is_file()
    assert not (comfy.base / "evil.png").exists() and not (comfy.input.parent.parent / "evil.png").exists()
    refused = by_base64(comfy, "io-image", "load", "image", data, "../x.png")
    assert assert_error(refused, 400, "invalid_input_file")["details"]["reason"] == "unsafe_name"


def test_video_without_a_video_suffix_gets_one_its_loader_lists(comfy: Client) -> None:
    # LoadVideo only lists files whose extension is a video type; a nameless upload still works.
    data = video([(10, 10, 10)], container="mp4", codec="mpeg4")
    response = comfy.run("io-video", {"video": {"file": {"type": "file", "content": b64(data)}}})
    assert response.status_code == 200, response.text
    assert (comfy.input / f"connect/connect-{sha(data)[:32]}.mp4").is_file()


# -- multipart specifics ----------------------------------------------------------------------------
def test_multipart_with_several_parts(comfy: Client) -> None:
    first, second = png((50, 60, 70), (3, 3)), png((1, 1, 1), (2, 2))
    payload = {"first": {"image": {"type": "file", "part": "a"}}, "second": {"image": {"type": "file", "part": "b"}}}
    response = comfy.run("io-pair", payload, files={"a": ("a.png", first), "b": ("b.png", second)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert pixels(base64.b64decode(body["first_out"][0])).tolist() == pixels(first).tolist()
    assert pixels(base64.b64decode(body["second_out"][0])).tolist() == pixels(second).tolist()


def test_one_part_for_two_inputs(comfy: Client) -> None:
    data = png((4, 5, 6), (2, 3))
    payload = {"first": {"image": {"type": "file", "part": "a"}}, "second": {"image": {"type": "file", "part": "a"}}}
    body = comfy.run("io-pair", payload, files={"a": ("a.png", data)}).json()
    assert body["first_out"] == body["second_out"] and pixels(base64.b64decode(body["first_out"][0])).tolist() == pixels(data).tolist()


@pytest.mark.parametrize(
    ("payload", "files", "words"),
    [
        pytest.param({}, {"stray": ("a.png", png())}, "'stray' is not referred to", id="unreferenced-part"),
        pytest.param(
            {"load": {"image": {"type": "file", "part": "nope"}}}, {"img": ("a.png", png())}, "no file part named 'nope'", id="missing"
        ),
    ],
)
def test_multipart_part_errors(comfy: Client, payload: Any, files: Any, words: str) -> None:
    error = assert_error(comfy.run("io-image", payload, files=files), 400, "invalid_input_file")
    assert words in error["message"]


def test_a_part_reference_in_a_json_body_is_refused(comfy: Client) -> None:
    error = assert_error(comfy.run("io-image", {"load": {"image": {"type": "file", "part": "img"}}}), 400, "invalid_input_file")
    assert "multipart/form-data" in error["message"]


def test_multipart_payload_must_be_json(comfy: Client) -> None:
    response = requests.post(f"{comfy.url}/api/connect/workflows/io-image", files={"payload": (None, "{not json")}, timeout=30)
    assert_error(response, 400, "invalid_json")


def test_malformed_multipart_is_400(comfy: Client) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
    response = requests.post(f"{comfy.url}/api/connect/workflows/io-image", data=b"--abc\r\nno headers", headers=headers, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] in ("bad_request", "invalid_input_file")


def test_multipart_duplicate_part_is_refused(comfy: Client) -> None:
    payload = '{"load": {"image": {"type": "file", "part": "img"}}}'
    files: list[tuple[str, tuple[str | None, str | bytes]]] = [
        ("payload", (None, payload)),
        ("img", ("a.png", png())),
        ("img", ("b.png", png(color=(0, 0, 1)))),
    ]
    response = requests.post(f"{comfy.url}/api/connect/workflows/io-image", files=files, timeout=30)
    assert "sent twice" in assert_error(response, 400, "invalid_input_file")["message"]


# -- limits, checked while streaming ----------------------------------------------------------------
def multipart_stream(part_size: int, chunk: int = 256 * 1024) -> Any:
    yield b'--B\r\nContent-Disposition: form-data; name="payload"\r\n\r\n{"load": {"image": {"type": "file", "part": "big"}}}\r\n'
    yield b'--B\r\nContent-Disposition: form-data; name="big"; filename="big.png"\r\n\r\n'
    for _ in range(part_size // chunk):
        yield b"\0" * chunk


def test_a_part_over_the_file_limit_is_413_before_the_rest_is_sent(comfy: Client) -> None:
    before = files_in(comfy.input)
    headers = {"Content-Type": "multipart/form-data; boundary=B"}
    # The body could go on to 10x the limit; the server must answer before twice the limit is sent.
    status, body, sent = stream_upload(
        comfy.server.port, "/api/connect/workflows/io-image", headers, multipart_stream(10 * MAX_FILE), 2 * MAX_FILE
    )
    assert status == 413, body[:500]
    assert b"CONNECT_MAX_FILE_BYTES" in body
    assert MAX_FILE < sent < 2 * MAX_FILE
    assert files_in(comfy.input) == before  # the partial upload was removed


def test_parts_over_the_body_limit_are_413_while_streaming(comfy: Client) -> None:
    part = MAX_FILE - 1_000_000

    def parts() -> Any:
        for index in range(4):  # each part under the file limit, together over the body limit
            yield f'--B\r\nContent-Disposition: form-data; name="p{index}"; filename="p.bin"\r\n\r\n'.encode()
            for _ in range(part // (256 * 1024)):
                yield b"\1" * (256 * 1024)
            yield b"\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=B"}
    status, body, sent = stream_upload(comfy.server.port, "/api/connect/workflows/io-image", headers, parts(), 2 * MAX_BODY)
    assert status == 413, body[:500]
    assert b"CONNECT_MAX_BODY_BYTES" in body
    assert MAX_BODY < sent < 2 * MAX_BODY


def test_base64_over_the_file_limit_is_413(comfy: Client) -> None:
    response = by_base64(comfy, "io-image", "load", "image", b"\0" * (MAX_FILE + 1), "x.png")
    assert_error(response, 413, "payload_too_large")


# -- bad files: a clear 4xx, and ComfyUI keeps serving -------------------------------------------------
@pytest.mark.parametrize(
    ("workflow", "group", "field", "data", "status", "reason"),
    [
        pytest.param("io-image", "load", "image", b"this is not an image", 400, "not_an_image", id="image-garbage"),
        pytest.param("io-image", "load", "image", png(size=(64, 64))[:-30], 400, "not_an_image", id="image-truncated"),
        pytest.param("io-image", "load", "image", video([(0, 0, 0)]), 400, "not_an_image", id="image-given-a-video"),
        pytest.param("io-mask", "mask", "image", b"GIF89a broken", 400, "not_an_image", id="mask-garbage"),
        pytest.param("io-image", "load", "image", bomb_png(40_000, 40_000), 413, None, id="image-decompression-bomb"),
        pytest.param("io-image", "load", "image", bomb_png(3000, 3000), 413, None, id="image-over-the-pixel-cap"),
        pytest.param("io-image", "load", "image", animated_png(3, 2048), 413, None, id="animation-frames-over-the-cap"),
        pytest.param("io-video", "video", "file", b"\x1a\x45\xdf\xa3 not really", 400, "not_video", id="video-garbage"),
        pytest.param("io-video", "video", "file", png(), 400, "not_video", id="video-given-an-image"),
        pytest.param("io-video", "video", "file", tone(), 400, "not_video", id="video-given-audio"),
        pytest.param(
            "io-video",
            "video",
            "file",
            video([(0, 0, 0)], size=(3000, 3000), container="mp4", codec="mpeg4"),
            413,
            None,
            id="video-frame-over-the-cap",
        ),
        pytest.param("io-audio", "audio", "audio", b"RIFF\0\0\0\0WAVEbroken", 400, "not_audio", id="audio-garbage"),
        pytest.param("io-audio", "audio", "audio", png(), 400, "not_audio", id="audio-given-an-image"),
    ],
)
def test_bad_files(comfy: Client, workflow: str, group: str, field: str, data: bytes, status: int, reason: str | None) -> None:
    before = files_in(comfy.input)
    for form in (by_base64, by_multipart):
        response = form(comfy, workflow, group, field, data, "file.bin")
        error = assert_error(response, status, "invalid_input_file" if status == 400 else "payload_too_large")
        assert error["details"]["path"] == f"{group}.{field}"
        if reason:
            assert error["details"]["reason"] == reason
    assert files_in(comfy.input) == before  # nothing refused is left where a loader could see it
    assert comfy.run("io-batch").status_code == 200  # and ComfyUI still runs the next prompt
