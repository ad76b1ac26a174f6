"""Running on ComfyUI's queue, end to end: its validation and execution errors, timeouts, concurrency."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from support.client import HTTP_TIMEOUT, Client
from support.errors import assert_error
from support.images import assert_color, decode, inverted, png_b64
from support.server import MODEL_A
from support.workflows import assert_still_serving, canvas, file_input, link, load_invert, node

pytestmark = pytest.mark.e2e
_colors = itertools.count(0x030201, 0x010203)


@pytest.mark.parametrize(
    ("payload", "path", "rule", "expected"),
    [
        pytest.param({"canvas": {"width": 0}}, "canvas.width", "minimum", 1, id="below-min"),
        pytest.param({"canvas": {"color": 0x1000000}}, "canvas.color", "maximum", 0xFFFFFF, id="above-max"),
        pytest.param({"canvas": {"width": "wide"}}, "canvas.width", "type", "integer", id="not-a-number"),
    ],
)
def test_a_value_outside_the_nodes_declaration_is_422_in_the_callers_names(
    api: Client, payload: dict[str, Any], path: str, rule: str, expected: Any
) -> None:
    # EmptyImage's own declaration (min 1, max 0xFFFFFF, INT) is the contract checked before queueing.
    api.saved("executor/canvas", canvas())
    error = assert_error(api.run("executor/canvas", payload), 422, "invalid_payload")
    assert error["message"].startswith(f"{path}: ")
    (problem,) = error["details"]["problems"]
    assert (problem["path"], problem["rule"], problem["expected"]) == (path, rule, expected)
    assert_still_serving(api)


def test_validation_error_on_a_combo_names_the_input(api: Client) -> None:
    prompt = {
        "1": node("EmptyImage", "", width=4, height=4, batch_size=1, color=0),
        "2": node("ImageScaleBy", "$scale(upscale_method)", image=link("1"), upscale_method="area", scale_by=1.0),
        "3": node("SaveImage", "#out", images=link("2"), filename_prefix="e2e"),
    }
    api.saved("executor/combo", prompt)
    error = assert_error(api.run("executor/combo", {"scale": {"upscale_method": "sharpest"}}), 422, "invalid_payload")
    assert error["message"].startswith("scale.upscale_method: ")
    assert "sharpest" in error["message"]
    (problem,) = error["details"]["problems"]
    assert problem["rule"] == "enum" and "area" in problem["expected"]


def test_validation_error_outside_exposed_inputs_names_the_node(api: Client) -> None:
    # Every class and file it names is installed (so it is ready), but a saved value is out of ComfyUI's range.
    prompt = {
        "1": node("EmptyImage", "Canvas", width=0, height=4, batch_size=1, color=0),
        "2": node("SaveImage", "#out", images=link("1"), filename_prefix="e2e"),
    }
    api.saved("executor/out-of-range", prompt)
    error = assert_error(api.run("executor/out-of-range"), 422, "prompt_invalid")
    assert error["message"].startswith("node 1 ('Canvas', EmptyImage).width: ")


def test_a_missing_input_file_is_refused_before_comfyui_sees_it(api: Client) -> None:
    # Saved with a file name that is not in ComfyUI's input folder, and run without a file (was ComfyUI's 422).
    api.saved("executor/missing-file", load_invert(load_title="Load"))
    error = assert_error(api.run("executor/missing-file"), 409, "endpoint_not_ready")
    assert error["message"].endswith("input file 'example.png' (node 1 'Load', LoadImage.image)")


def test_node_failing_at_run_time_is_500_naming_it(api: Client, comfy_base: Path) -> None:
    # A file sent with the call is checked before queueing (tests/io); one already in ComfyUI's input
    # folder is not, so LoadImage itself fails on it while the prompt runs.
    (comfy_base / "input" / "broken.png").write_bytes(b"this is not a PNG")
    api.saved("executor/fails", load_invert())
    error = assert_error(api.run("executor/fails", {"load": {"image": "broken.png"}}), 500, "execution_failed")
    assert error["message"].startswith("node 1 ('Load $load', LoadImage) failed: ")
    assert "cannot identify image file" in error["message"]
    details = error["details"]
    assert (details["node_id"], details["title"], details["class_type"]) == ("1", "Load $load", "LoadImage")
    assert details["exception_type"].endswith("UnidentifiedImageError")
    assert api.history(details["prompt_id"])["status"]["status_str"] == "error"
    assert_still_serving(api)


def _slow() -> dict[str, Any]:
    # Upscaling a batch of 32 512x512 images takes seconds on these machines; ComfyUI checks for an
    # interrupt between tiles, so a cancelled run ends soon after.
    return {
        "1": node("EmptyImage", "$canvas(color)", width=512, height=512, batch_size=32, color=0),
        "2": node("UpscaleModelLoader", "", model_name=MODEL_A),
        "3": node("ImageUpscaleWithModel", "", upscale_model=link("2"), image=link("1")),
        "4": node("ImageScale", "", image=link("3"), upscale_method="nearest-exact", width=8, height=8, crop="disabled"),
        "5": node("PreviewImage", "#out", images=link("4")),
    }


def _start_slow_run(api: Client, pool: ThreadPoolExecutor) -> Future[requests.Response]:
    """A slow run in the background, returned once ComfyUI's worker has picked it up."""
    api.saved("executor/slow", _slow())
    running = pool.submit(api.run, "executor/slow", {"canvas": {"color": next(_colors)}})
    deadline = time.monotonic() + 60
    while not requests.get(f"{api.url}/queue", timeout=HTTP_TIMEOUT).json()["queue_running"]:
        assert time.monotonic() < deadline and not running.done(), "the slow run never started"
        time.sleep(0.02)
    return running


def _running_prompt_id(api: Client) -> str:
    (prompt_id,) = [item[1] for item in requests.get(f"{api.url}/queue", timeout=HTTP_TIMEOUT).json()["queue_running"]]
    return str(prompt_id)


def _interrupt_until_done(api: Client, running: Future[requests.Response], slow_id: str | None = None) -> requests.Response:
    # ComfyUI clears its interrupt flag when a prompt starts: repeat until the run has ended. Targeted at
    # the slow prompt: an untargeted straggler could land on the prompt queued behind it once it starts.
    slow_id = slow_id or _running_prompt_id(api)
    while not running.done():
        requests.post(f"{api.url}/interrupt", json={"prompt_id": slow_id}, timeout=HTTP_TIMEOUT)
        time.sleep(0.1)
    return running.result()


def test_run_over_its_timeout_is_504_and_cancelled(api: Client) -> None:
    api.saved("executor/slow", _slow())
    error = assert_error(api.run("executor/slow", {"canvas": {"color": next(_colors)}}, params={"timeout": 0.2}), 504, "timeout")
    assert error["details"]["timeout"] == 0.2
    messages = [event for event, _ in api.history(error["details"]["prompt_id"])["status"]["messages"]]
    assert "execution_interrupted" in messages
    assert_still_serving(api)


def test_a_runs_timeout_counts_its_execution_not_its_wait_in_the_queue(api: Client) -> None:
    # Issue 6: the timeout is an execution timeout, so a run queued behind a slow one is not cut short.
    api.saved("executor/canvas", canvas())
    color = next(_colors)
    with ThreadPoolExecutor(2) as pool:
        slow = _start_slow_run(api, pool)
        slow_id = _running_prompt_id(api)
        queued = pool.submit(api.run, "executor/canvas", {"canvas": {"color": color}}, params={"timeout": 0.5})
        deadline = time.monotonic() + 60
        while not requests.get(f"{api.url}/queue", timeout=HTTP_TIMEOUT).json()["queue_pending"]:
            assert time.monotonic() < deadline and not queued.done(), "the second run was never queued"
            time.sleep(0.02)
        time.sleep(1.0)  # longer than its timeout, spent waiting in the queue (while the slow run lasts)
        # On an idle machine the slow run may end within that second; the queued one can only end after it.
        assert not queued.done() or slow.done()
        _interrupt_until_done(api, slow, slow_id)
        response = queued.result(timeout=60)
    assert response.status_code == 200, response.text
    (image,) = [decode(item) for item in response.json()["out"]]
    assert_color(image, ((color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF))
    assert_still_serving(api)


def test_run_interrupted_from_comfyui_is_409(api: Client) -> None:
    with ThreadPoolExecutor(1) as pool:
        response = _interrupt_until_done(api, _start_slow_run(api, pool))
    error = assert_error(response, 409, "interrupted")
    assert api.history(error["details"]["prompt_id"])["status"]["status_str"] == "error"
    assert_still_serving(api)


def test_twenty_concurrent_calls_each_get_their_own_output(api: Client) -> None:
    api.saved("executor/concurrent", load_invert())
    colors = [(10 * i, 255 - 10 * i, (37 * i) % 256) for i in range(20)]

    def call(color: tuple[int, int, int]) -> tuple[tuple[int, int, int], str, str]:
        response = api.run("executor/concurrent", {"load": {"image": file_input(png_b64(color, (3, 3)))}})
        assert response.status_code == 200, response.text
        (image,) = response.json()["out"]
        return color, image, response.headers["X-Connect-Prompt-Id"]

    with ThreadPoolExecutor(max_workers=len(colors)) as pool:
        results = list(pool.map(call, colors))
    assert len({prompt_id for _, _, prompt_id in results}) == len(colors)
    for color, image, _ in results:
        assert_color(decode(image), inverted(color))
