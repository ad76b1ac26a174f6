"""`!cache`, end to end, with ComfyUI's stock UpscaleModelLoader and two tiny generated models.

Workflows A and B each load a different model. Running A, B, A: ComfyUI evicts A's loader while B
runs unless A's loader is marked `!cache`; ComfyUI itself reports which nodes it did not run again
(`execution_cached` in the prompt's history).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from support.client import Client, cached_nodes
from support.images import decode
from support.server import MODEL_A, MODEL_B
from support.workflows import Prompt, canvas, link, node

pytestmark = pytest.mark.e2e

LOADER = "2"
_colors = itertools.count(0x200000, 0x000101)


def _upscaler(model: str, loader_title: str) -> Prompt:
    return {
        "1": node("EmptyImage", "$canvas(color)", width=4, height=4, batch_size=1, color=0),
        LOADER: node("UpscaleModelLoader", loader_title, model_name=model),
        "3": node("ImageUpscaleWithModel", "", upscale_model=link(LOADER), image=link("1")),
        "4": node("SaveImage", "#out", images=link("3"), filename_prefix="e2e"),
    }


@pytest.fixture
def pair(api: Client) -> Iterator[tuple[str, str]]:
    names = ("cache/a", "cache/b")
    yield names
    # A `!cache` workflow keeps its loader alive in every later run: leave none behind.
    for name in names:
        api.delete(name)


def _run_a_b_a(api: Client, names: tuple[str, str]) -> list[str]:
    """The node ids ComfyUI did not run again on the second run of A."""
    a, b = names
    prompt_ids: list[str] = []
    for name in (a, b, a):
        # A new colour each time: only the loaders can be answered from ComfyUI's cache.
        response = api.run(name, {"canvas": {"color": next(_colors)}})
        assert response.status_code == 200, response.text
        assert decode(response.json()["out"][0]).size == (8, 8)
        prompt_ids.append(response.headers["X-Connect-Prompt-Id"])
    return cached_nodes(api.history(prompt_ids[2]))


@pytest.mark.parametrize("title", ["Loader [!cache]", "Loader !cache", "[!cache]"])
def test_cached_loader_survives_another_workflow(api: Client, pair: tuple[str, str], title: str) -> None:
    a, b = pair
    assert api.saved(a, _upscaler(MODEL_A, title))["cached"] == [LOADER]
    api.saved(b, _upscaler(MODEL_B, title))
    assert LOADER in _run_a_b_a(api, pair)


def test_without_cache_the_loader_runs_again(api: Client, pair: tuple[str, str]) -> None:
    a, b = pair
    assert api.saved(a, _upscaler(MODEL_A, "Loader"))["cached"] == []
    api.saved(b, _upscaler(MODEL_B, "Loader"))
    assert LOADER not in _run_a_b_a(api, pair)


def test_cached_workflows_still_produce_their_own_outputs(api: Client, pair: tuple[str, str]) -> None:
    a, b = pair
    api.saved(a, _upscaler(MODEL_A, "[!cache]"))
    api.saved(b, _upscaler(MODEL_B, "[!cache]"))
    outputs: dict[str, list[bytes]] = {}
    for name in (a, b, a):
        (image,) = api.run_ok(name, {"canvas": {"color": 0x808080}})["out"]
        outputs.setdefault(name, []).append(image.tobytes())
    # Different random weights give different images; the same workflow gives the same image.
    assert outputs[a][0] == outputs[a][1]
    assert outputs[a][0] != outputs[b][0]


def test_cache_on_an_output_node_never_runs_it_with_other_workflows(api: Client) -> None:
    cached_output = {
        "1": node("EmptyImage", "", width=4, height=4, batch_size=1, color=0),
        "2": node("PreviewImage", "Preview [!cache] #out", images=link("1")),
    }
    api.saved("cache/output", cached_output)
    try:
        api.saved("cache/other", canvas())
        response = api.run("cache/other", {"canvas": {"color": next(_colors)}})
        assert response.status_code == 200, response.text
        # Only the called workflow's own output node ran.
        assert list(api.history(response.headers["X-Connect-Prompt-Id"])["outputs"]) == ["2"]
    finally:
        api.delete("cache/output")
