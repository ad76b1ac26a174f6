from __future__ import annotations

import copy
from typing import Any

import pytest
from support.workflows import node

from connect.errors import AnnotationError, InvalidWorkflow
from connect.workflow.endpoint import check_prompt, is_link, parse_endpoint, title_of


def txt2img(**titles: str) -> dict[str, dict[str, Any]]:
    """The default ComfyUI graph (API format, its node ids), with titles overridden by id: `txt2img(n3="...")`."""
    t = {key[1:]: value for key, value in titles.items()}
    return {
        "4": node("CheckpointLoaderSimple", t.get("4", "Load Checkpoint"), ckpt_name="v1-5.safetensors"),
        "6": node("CLIPTextEncode", t.get("6", "Positive"), text="a bottle", clip=["4", 1]),
        "7": node("CLIPTextEncode", t.get("7", "Negative"), text="blurry", clip=["4", 1]),
        "5": node("EmptyLatentImage", t.get("5", "Empty Latent Image"), width=512, height=512, batch_size=1),
        "3": node(
            "KSampler",
            t.get("3", "KSampler"),
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
        "8": node("VAEDecode", t.get("8", "VAE Decode"), samples=["3", 0], vae=["4", 2]),
        "9": node("SaveImage", t.get("9", "Save Image"), filename_prefix="ComfyUI", images=["8", 0]),
    }


def problems_of(prompt: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(AnnotationError) as info:
        parse_endpoint(prompt)
    assert info.value.status == 400
    problems: list[dict[str, str]] = info.value.details["problems"]
    return problems


# -- groups ----------------------------------------------------------------------------------------
def test_group_exposes_every_widget_input_and_no_link() -> None:
    endpoint = parse_endpoint(txt2img(n3="KSampler $sampler"))
    group = endpoint.groups["sampler"]
    assert group.node_ids == ("3",)
    assert dict(group.inputs) == {"seed": 1, "steps": 20, "cfg": 8.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}
    assert all(targets == ("3",) for targets in group.targets.values())
    assert set(group.targets) == set(group.inputs)


def test_filter_exposes_only_the_named_inputs() -> None:
    endpoint = parse_endpoint(txt2img(n3="KSampler $sampler(steps, seed)"))
    group = endpoint.groups["sampler"]
    assert dict(group.inputs) == {"steps": 20, "seed": 1}
    assert list(group.inputs) == ["steps", "seed"]


def test_empty_filter_exposes_nothing_but_keeps_the_group_for_bypass() -> None:
    endpoint = parse_endpoint(txt2img(n9="Save Image $save()"))
    group = endpoint.groups["save"]
    assert group.node_ids == ("9",)
    assert dict(group.inputs) == {}
    assert dict(group.targets) == {}


def test_node_without_annotation_is_not_exposed() -> None:
    endpoint = parse_endpoint(txt2img())
    assert dict(endpoint.groups) == {}
    assert dict(endpoint.outputs) == {}
    assert endpoint.bypassed == ()
    assert endpoint.cached == ()


def test_same_group_on_several_nodes_targets_all_of_them() -> None:
    endpoint = parse_endpoint(txt2img(n6="$prompt", n7="$prompt"))
    group = endpoint.groups["prompt"]
    assert group.node_ids == ("6", "7")
    assert group.targets["text"] == ("6", "7")
    assert group.inputs["text"] == "a bottle"  # the saved value of the first node


def test_group_over_different_classes_targets_each_input_where_it_exists() -> None:
    prompt = txt2img(n5="$size")
    prompt["10"] = node("ImageScale", "$size", upscale_method="nearest-exact", width=768, height=768, crop="disabled", image=["8", 0])
    group = parse_endpoint(prompt).groups["size"]
    assert group.targets["width"] == ("5", "10")
    assert group.targets["batch_size"] == ("5",)
    assert group.targets["crop"] == ("10",)
    assert group.inputs["width"] == 512


def test_same_annotation_twice_in_one_title_counts_the_node_once() -> None:
    group = parse_endpoint(txt2img(n6="$prompt [$prompt]")).groups["prompt"]
    assert group.node_ids == ("6",)
    assert group.targets["text"] == ("6",)


def test_outputs_with_the_same_name_collect_their_nodes_in_prompt_order() -> None:
    prompt = txt2img(n9="Save #images")
    prompt["12"] = node("PreviewImage", "Preview #images", images=["8", 0])
    prompt["11"] = node("PreviewImage", "#preview", images=["8", 0])
    endpoint = parse_endpoint(prompt)
    assert dict(endpoint.outputs) == {"images": ("9", "12"), "preview": ("11",)}


def test_directives_and_several_annotations_in_one_title() -> None:
    prompt = txt2img(n4="Load Checkpoint [!cache]", n3="KSampler $sampler(seed) #latent !bypass")
    endpoint = parse_endpoint(prompt)
    assert endpoint.cached == ("4",)
    assert endpoint.bypassed == ("3",)
    assert endpoint.outputs["latent"] == ("3",)
    assert list(endpoint.groups["sampler"].inputs) == ["seed"]


def test_endpoint_keeps_the_prompt_and_reads_titles() -> None:
    prompt = txt2img(n3="KSampler $sampler")
    endpoint = parse_endpoint(prompt)
    assert endpoint.prompt is prompt
    assert endpoint.title("3") == "KSampler $sampler"
    assert endpoint.title("404") == ""


def test_parse_endpoint_does_not_change_the_prompt() -> None:
    prompt = txt2img(n3="$sampler(seed)", n6="$p", n7="$p", n9="#out !bypass")
    before = copy.deepcopy(prompt)
    parse_endpoint(prompt)
    assert prompt == before


# -- problems --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("titles", "node_id", "words"),
    [
        pytest.param({"n3": "$x #x"}, "3", "both as an input ($) and an output (#)", id="input-and-output-same-node"),
        pytest.param({"n3": "$x", "n9": "#x"}, "9", "both as an input ($) and an output (#)", id="input-and-output-two-nodes"),
        pytest.param({"n6": "$p(text)", "n7": "$p"}, "7", "different input filters", id="two-filters"),
        pytest.param({"n6": "$p(text)", "n7": "$p()"}, "7", "different input filters", id="filter-and-empty-filter"),
        pytest.param({"n3": "$s(seed, stpes)"}, "3", "has no widget input 'stpes' (it has: seed, steps, cfg,", id="missing-input"),
        pytest.param({"n3": "$s(model)"}, "3", "input 'model' is linked to another node; links are never exposed", id="linked-input"),
        pytest.param({"n3": "$s("}, "3", "never closed", id="unclosed-filter"),
        pytest.param({"n3": "!nocache"}, "3", "unknown directive '!nocache'", id="unknown-directive"),
    ],
)
def test_annotation_problem_names_node_title_and_cause(titles: dict[str, str], node_id: str, words: str) -> None:
    prompt = txt2img(**titles)
    [problem] = problems_of(prompt)
    assert problem["node_id"] == node_id
    assert problem["title"] == title_of(prompt[node_id])
    assert problem["class_type"] == prompt[node_id]["class_type"]
    assert words in problem["problem"]


def test_error_message_names_the_first_problem_and_counts_the_rest() -> None:
    prompt = txt2img(n3="$s(nope)", n8="#a #b $b", n9="!bogus")
    with pytest.raises(AnnotationError, match=r"^node 9 \('!bogus'\): unknown directive '!bogus'.* \(and 2 more\)$"):
        parse_endpoint(prompt)


def test_every_problem_is_reported_at_once() -> None:
    prompt = txt2img(
        n3="$s(nope)",  # missing input
        n6="$p(text)",
        n7="$p",  # different filter
        n8="$v #v",  # input and output
        n9="Save $(x)",  # malformed
    )
    prompt["5"]["_meta"]["title"] = "$latent(samples)"  # EmptyLatentImage has no such input
    found = {(p["node_id"], p["title"]) for p in problems_of(prompt)}
    assert found == {
        ("3", "$s(nope)"),
        ("7", "$p"),
        ("8", "$v #v"),
        ("9", "Save $(x)"),
        ("5", "$latent(samples)"),
    }


def test_input_output_conflict_is_reported_even_when_the_group_has_another_problem() -> None:
    problems = problems_of(txt2img(n3="$x(nope)", n9="#x"))
    assert [(p["node_id"], "nope" in p["problem"], "both as an input" in p["problem"]) for p in problems] == [
        ("3", True, False),
        ("9", False, True),
    ]


def test_every_missing_input_of_a_filter_is_reported() -> None:
    problems = problems_of(txt2img(n3="$s(nope, model, seed, nada)"))
    assert [p["problem"].split(":")[0] for p in problems] == ["'$s(nope)'", "'$s(model)'", "'$s(nada)'"]


# -- check_prompt ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        pytest.param(None, "non-empty object", id="none"),
        pytest.param([], "non-empty object", id="list"),
        pytest.param({}, "non-empty object", id="empty"),
        pytest.param({"1": "KSampler"}, "prompt['1'] must be an object", id="node-not-object"),
        pytest.param({"1": {"inputs": {}}}, "prompt['1'].class_type must be a string", id="no-class-type"),
        pytest.param({"1": {"class_type": 3, "inputs": {}}}, "class_type must be a string", id="class-type-not-string"),
        pytest.param({"1": {"class_type": "X", "inputs": []}}, "prompt['1'].inputs must be an object", id="inputs-not-object"),
        pytest.param({"1": {"class_type": "X", "inputs": {"a": ["2", 0]}}}, "links to node '2', which is not in the prompt", id="dangling"),
        pytest.param({"workflow": {"nodes": [], "links": []}}, "class_type must be a string", id="ui-format"),
    ],
)
def test_check_prompt_rejects(prompt: Any, words: str) -> None:
    with pytest.raises(InvalidWorkflow) as info:
        check_prompt(prompt)
    assert words in info.value.message
    assert info.value.status == 400


def test_check_prompt_accepts_nodes_without_inputs_or_meta() -> None:
    prompt = {"1": {"class_type": "EmptyImage"}, "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}
    assert check_prompt(prompt) is prompt
    assert parse_endpoint(prompt).groups == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(["4", 0], True, id="link"),
        pytest.param(["4", 2], True, id="slot-2"),
        pytest.param([4, 0], False, id="int-id"),
        pytest.param(["4", True], False, id="bool-slot"),
        pytest.param(["4", "0"], False, id="str-slot"),
        pytest.param(["4", 0, 1], False, id="three"),
        pytest.param("4", False, id="str"),
        pytest.param(("4", 0), False, id="tuple"),
    ],
)
def test_is_link(value: Any, expected: bool) -> None:
    assert is_link(value) is expected


@pytest.mark.parametrize(
    ("node_", "expected"),
    [
        pytest.param({"_meta": {"title": "T"}}, "T", id="title"),
        pytest.param({}, "", id="no-meta"),
        pytest.param({"_meta": "T"}, "", id="meta-not-object"),
        pytest.param({"_meta": {"title": 3}}, "", id="title-not-string"),
    ],
)
def test_title_of(node_: dict[str, Any], expected: str) -> None:
    assert title_of(node_) == expected
