"""Outputs, end to end: every `#` node's files, batches in order, from ComfyUI's output and temp folders."""

from __future__ import annotations

import pytest
from support.client import Client, cached_nodes
from support.images import assert_color, inverted, png_b64
from support.workflows import canvas, file_input, link, node

pytestmark = pytest.mark.e2e

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def test_image_batch_comes_back_in_batch_order(api: Client) -> None:
    prompt = {
        "1": node("LoadImage", "$first", image="example.png"),
        "2": node("LoadImage", "$second", image="example.png"),
        "3": node("ImageBatch", "", image1=link("1"), image2=link("2")),
        "4": node("SaveImage", "#out", images=link("3"), filename_prefix="e2e"),
    }
    api.saved("outputs/batch", prompt)
    for first, second in ((RED, BLUE), (BLUE, RED)):
        payload = {"first": {"image": file_input(png_b64(first))}, "second": {"image": file_input(png_b64(second))}}
        images = api.run_ok("outputs/batch", payload)["out"]
        assert len(images) == 2
        assert_color(images[0], first)
        assert_color(images[1], second)


@pytest.mark.parametrize("amount", [1, 3])
def test_repeated_batch_returns_every_image(api: Client, amount: int) -> None:
    prompt = {
        "1": node("EmptyImage", "", width=4, height=4, batch_size=2, color=0x00FF00),
        "2": node("RepeatImageBatch", "$repeat", image=link("1"), amount=1),
        "3": node("SaveImage", "#out", images=link("2"), filename_prefix="e2e"),
    }
    api.saved("outputs/repeat", prompt)
    images = api.run_ok("outputs/repeat", {"repeat": {"amount": amount}})["out"]
    assert len(images) == 2 * amount
    for image in images:
        assert_color(image, GREEN)


def test_several_outputs_each_under_its_name(api: Client) -> None:
    prompt = {
        "1": node("LoadImage", "$load", image="example.png"),
        "2": node("ImageInvert", "", image=link("1")),
        "3": node("SaveImage", "#original", images=link("1"), filename_prefix="e2e"),
        "4": node("PreviewImage", "#inverted", images=link("2")),  # written to ComfyUI's temp folder
        "5": node("PreviewImage", "not returned", images=link("2")),
    }
    api.saved("outputs/several", prompt)
    color = (12, 34, 56)
    result = api.run_ok("outputs/several", {"load": {"image": file_input(png_b64(color))}})
    assert set(result) == {"original", "inverted"}
    assert_color(result["original"][0], color)
    assert_color(result["inverted"][0], inverted(color))


def test_a_run_comfyui_answers_entirely_from_its_cache_still_returns_the_files(api: Client) -> None:
    api.saved("outputs/cached", canvas(color=0x00FF00))
    first = api.run("outputs/cached", {"canvas": {"color": 0x00FF01}})
    again = api.run("outputs/cached", {"canvas": {"color": 0x00FF01}})
    assert first.status_code == again.status_code == 200
    # This server keeps outputs (CONNECT_KEEP_OUTPUTS=1), so ComfyUI's cache answers the whole prompt, output
    # node included, with the file the first call wrote. (Without it the `#` node runs again: see tests/io.)
    assert again.json()["out"] == first.json()["out"]
    history = api.history(again.headers["X-Connect-Prompt-Id"])
    assert {"1", "2"} <= set(cached_nodes(history))


def test_prompt_id_header_names_the_comfyui_prompt(api: Client) -> None:
    api.saved("outputs/header", canvas(color=0x0000FF))
    response = api.run("outputs/header", {"canvas": {"color": 0x0000FE}})
    assert response.status_code == 200, response.text
    history = api.history(response.headers["X-Connect-Prompt-Id"])
    assert history["status"]["status_str"] == "success"
    assert history["outputs"]["2"]["images"][0]["filename"].startswith("e2e")
