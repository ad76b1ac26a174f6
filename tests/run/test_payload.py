from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

import pytest
from support.workflows import node

from connect.errors import PayloadError
from connect.run.payload import Patched, is_file_object, patch_prompt
from connect.workflow.endpoint import Endpoint, parse_endpoint


def saved_prompt() -> dict[str, dict[str, Any]]:
    return {
        "4": node("CheckpointLoaderSimple", "Load Checkpoint [!cache]", ckpt_name="v1-5.safetensors"),
        "6": node("CLIPTextEncode", "$positive(text)", text="a bottle", clip=["4", 1]),
        "7": node("CLIPTextEncode", "$negative", text="blurry", clip=["4", 1]),
        "5": node("EmptyLatentImage", "$size(width,height)", width=512, height=512, batch_size=1),
        "3": node(
            "KSampler",
            "KSampler $sampler(seed,steps,cfg)",
            seed=1,
            steps=20,
            cfg=8.0,
            sampler_name="euler",
            scheduler="normal",
            denoise=1.0,
            model=["4", 0],
            positive=["6", 0],
            negative=["7", 0],
            latent_image=["5", 0],
        ),
        "8": node("VAEDecode", "VAE Decode", samples=["3", 0], vae=["4", 2]),
        "9": node("SaveImage", "#output", filename_prefix="ComfyUI", images=["8", 0]),
        "10": node("LoadImage", "$load-image", image="example.png"),
        "11": node("ImageScale", "$size(width,height)", upscale_method="bilinear", width=512, height=512, crop="disabled", image=["10", 0]),
        "12": node("PreviewImage", "$debug-preview() #preview", images=["11", 0]),
        "13": node("PreviewImage", "!bypass", images=["8", 0]),
    }


class Files:
    """A file resolver that records what it was given and names files in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, path: str, spec: Mapping[str, Any]) -> str:
        self.calls.append((path, dict(spec)))
        return f"connect-{len(self.calls)}.png"


def patch(payload: Any, endpoint: Endpoint | None = None, files: Files | None = None) -> Patched:
    return asyncio.run(patch_prompt(endpoint or parse_endpoint(saved_prompt()), payload, files or Files()))


def problems(payload: Any, endpoint: Endpoint | None = None) -> list[dict[str, Any]]:
    with pytest.raises(PayloadError) as info:
        patch(payload, endpoint)
    assert info.value.status == 422
    found: list[dict[str, Any]] = info.value.details["problems"]
    return found


def test_values_are_set_on_the_groups_nodes() -> None:
    patched = patch({"sampler": {"seed": 1234, "steps": 4}, "positive": {"text": "a purple galaxy bottle"}})
    assert patched.prompt["3"]["inputs"] | {"seed": 1234, "steps": 4} == patched.prompt["3"]["inputs"]
    assert patched.prompt["3"]["inputs"]["cfg"] == 8.0
    assert patched.prompt["3"]["inputs"]["model"] == ["4", 0]
    assert patched.prompt["6"]["inputs"]["text"] == "a purple galaxy bottle"
    assert patched.prompt["7"]["inputs"]["text"] == "blurry"


def test_a_value_goes_to_every_node_of_the_group() -> None:
    patched = patch({"size": {"width": 640}})
    assert patched.prompt["5"]["inputs"]["width"] == 640
    assert patched.prompt["11"]["inputs"]["width"] == 640
    assert patched.prompt["5"]["inputs"]["height"] == 512


def test_empty_payload_runs_the_saved_values() -> None:
    saved = parse_endpoint(saved_prompt())
    patched = patch({}, saved)
    assert patched.prompt == saved.prompt
    assert patched.bypass == {"13"}  # !bypass nodes are always removed


def test_false_bypasses_the_groups_nodes() -> None:
    assert patch({"debug-preview": False}).bypass == {"12", "13"}
    assert patch({"size": False}).bypass == {"5", "11", "13"}


def test_the_saved_prompt_is_never_changed() -> None:
    endpoint = parse_endpoint(saved_prompt())
    before = copy.deepcopy(endpoint.prompt)
    patched = patch({"sampler": {"seed": 5}, "size": {"width": 64}, "load-image": {"image": {"type": "file", "content": "AA=="}}}, endpoint)
    assert endpoint.prompt == before
    assert patched.prompt is not endpoint.prompt
    assert patched.prompt["3"] is not endpoint.prompt["3"]
    assert patched.prompt["3"]["inputs"] is not endpoint.prompt["3"]["inputs"]
    # A node patched twice (two inputs of one group) is copied once and keeps both values.
    assert (patched.prompt["5"]["inputs"]["width"], patched.prompt["5"]["inputs"]["height"]) == (64, 512)


def test_file_objects_go_to_the_resolver_and_the_node_gets_its_name() -> None:
    files = Files()
    upload = {"type": "file", "content": "iVBORw0KGgo=", "name": "in.png"}
    remote = {"type": "file", "url": "http://example.test/a.png"}
    patched = patch({"load-image": {"image": upload}, "positive": {"text": remote}}, files=files)
    assert files.calls == [("load-image.image", upload), ("positive.text", remote)]
    assert patched.prompt["10"]["inputs"]["image"] == "connect-1.png"
    assert patched.prompt["6"]["inputs"]["text"] == "connect-2.png"


def test_no_file_is_resolved_when_the_payload_has_problems() -> None:
    files = Files()
    with pytest.raises(PayloadError):
        patch({"load-image": {"image": {"type": "file", "content": "AA=="}}, "nope": {}}, files=files)
    assert files.calls == []


def test_unknown_group_lists_the_exposed_groups() -> None:
    [problem] = problems({"sampelr": {"seed": 1}})
    assert problem["path"] == "sampelr"
    assert problem["message"] == "unknown input group; exposed groups: positive, negative, size, sampler, load-image, debug-preview"
    assert problem["value"] == {"seed": 1}


def test_unknown_input_lists_the_groups_inputs() -> None:
    [problem] = problems({"sampler": {"denoise": 0.5}})
    assert problem["path"] == "sampler.denoise"
    assert problem["message"] == "not an exposed input; exposed: seed, steps, cfg"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="true"),
        pytest.param(None, id="null"),
        pytest.param("off", id="string"),
        pytest.param(0, id="zero"),
        pytest.param([], id="list"),
    ],
)
def test_group_value_must_be_an_object_or_false(value: Any) -> None:
    [problem] = problems({"sampler": value})
    assert problem["path"] == "sampler"
    assert problem["message"] == "must be an object of inputs, or false to bypass the node"


def test_group_without_inputs_only_accepts_false() -> None:
    assert patch({"debug-preview": False}).bypass >= {"12"}
    [problem] = problems({"debug-preview": {"images": "x"}})
    assert problem["message"] == "not an exposed input; exposed: none (this group can only be bypassed with false)"
    [problem] = problems({"debug-preview": True})
    assert problem["path"] == "debug-preview"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"seed": 1}, id="object"),
        pytest.param([1, 2], id="list"),
        pytest.param(["4", 0], id="link-like"),
        pytest.param({"type": "url", "url": "http://x"}, id="not-a-file-object"),
    ],
)
def test_input_value_must_be_plain_or_a_file_object(value: Any) -> None:
    [problem] = problems({"sampler": {"seed": value}})
    assert problem["path"] == "sampler.seed"
    assert problem["message"] == "must be a plain value (number, string, boolean) or a file object"


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"nope": 1, "sampler": {"seed": [1], "denoise": 1}, "size": True, "positive": {"text": "ok"}})
    assert [p["path"] for p in found] == ["nope", "sampler.seed", "sampler.denoise", "size"]
    with pytest.raises(PayloadError, match=r"^'nope': unknown input group; .* \(and 3 more\)$"):
        patch({"nope": 1, "sampler": {"seed": [1], "denoise": 1}, "size": True})


@pytest.mark.parametrize("payload", [[], "x", None, 3, [{"sampler": {}}]])
def test_body_must_be_an_object(payload: Any) -> None:
    with pytest.raises(PayloadError, match="must be a JSON object"):
        patch(payload)


def test_problem_values_are_shortened_and_file_content_is_omitted() -> None:
    long_text = "x" * 500
    found = problems({"nope": long_text, "sampler": {"cfg": {"type": "file", "content": long_text}, "x": 1}})
    assert found[0]["value"] == "x" * 77 + "..."
    assert found[1]["value"] == 1
    found = problems({"nope": {"type": "file", "content": long_text}})
    assert found[0]["value"] == {"type": "file", "content": "<omitted>"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"type": "file", "content": ""}, True, id="content"),
        pytest.param({"type": "file"}, True, id="bare"),
        pytest.param({"type": "image"}, False, id="other-type"),
        pytest.param("file", False, id="string"),
    ],
)
def test_is_file_object(value: Any, expected: bool) -> None:
    assert is_file_object(value) is expected
