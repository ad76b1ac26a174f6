"""NodeSpec and the contract from /object_info entries exactly as ComfyUI 0.33.0 serves them.

0.33.0 added `is_input_list`, `has_intermediate_output`, `deprecated`, `dev_only`, `search_aliases`,
`essentials_category`, `output_matchtypes`, `price_badge`, ... The specimens below were fetched from a
running 0.33.0 (GET /object_info): a V3 node that takes lists (RebatchImages), a V3 node with an
intermediate preview and an object-valued widget (ImageCropV2), and two V1 nodes (ImageBatch is deprecated).
"""

from __future__ import annotations

from typing import Any

import pytest

from connect.comfy.nodespec import NodeSpec
from connect.contract.schema import build_contract
from connect.contract.validation import check_body
from connect.workflow.endpoint import parse_endpoint

OBJECT_INFO_0330: dict[str, dict[str, Any]] = {
    "RebatchImages": {
        "input": {"required": {"images": ["IMAGE", {}], "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}]}},
        "input_order": {"required": ["images", "batch_size"]},
        "is_input_list": True,
        "output": ["IMAGE"],
        "output_is_list": [True],
        "output_name": ["IMAGE"],
        "output_tooltips": [None],
        "output_matchtypes": None,
        "name": "RebatchImages",
        "display_name": "Rebatch Images",
        "description": "",
        "python_module": "comfy_extras.nodes_rebatch",
        "category": "image/batch",
        "output_node": False,
        "deprecated": False,
        "experimental": False,
        "dev_only": False,
        "api_node": False,
        "price_badge": None,
        "search_aliases": None,
        "essentials_category": None,
        "has_intermediate_output": False,
    },
    "ImageCropV2": {
        "input": {
            "required": {
                "image": ["IMAGE", {}],
                "crop_region": [
                    "BOUNDING_BOX",
                    {"default": {"x": 0, "y": 0, "width": 512, "height": 512}, "socketless": True, "component": "ImageCrop"},
                ],
            }
        },
        "input_order": {"required": ["image", "crop_region"]},
        "is_input_list": False,
        "output": ["IMAGE"],
        "output_is_list": [False],
        "output_name": ["IMAGE"],
        "output_tooltips": [None],
        "output_matchtypes": None,
        "name": "ImageCropV2",
        "display_name": "Crop Image",
        "description": "Crop an image to the specified dimensions.",
        "python_module": "comfy_extras.nodes_images",
        "category": "image/transform",
        "output_node": False,
        "deprecated": False,
        "experimental": False,
        "dev_only": False,
        "api_node": False,
        "price_badge": None,
        "search_aliases": ["crop", "cut", "trim"],
        "essentials_category": "Image Tools",
        "has_intermediate_output": True,
    },
    "ImageInvert": {
        "input": {"required": {"image": ["IMAGE"]}},
        "input_order": {"required": ["image"]},
        "is_input_list": False,
        "output": ["IMAGE"],
        "output_is_list": [False],
        "output_name": ["IMAGE"],
        "name": "ImageInvert",
        "display_name": "Invert Image Colors",
        "description": "",
        "python_module": "nodes",
        "category": "image/color",
        "output_node": False,
        "has_intermediate_output": False,
        "search_aliases": ["reverse colors"],
        "essentials_category": "Image Tools",
    },
    "ImageBatch": {
        "input": {"required": {"image1": ["IMAGE"], "image2": ["IMAGE"]}},
        "input_order": {"required": ["image1", "image2"]},
        "is_input_list": False,
        "output": ["IMAGE"],
        "output_is_list": [False],
        "output_name": ["IMAGE"],
        "name": "ImageBatch",
        "display_name": "Batch Images (DEPRECATED)",
        "description": "",
        "python_module": "nodes",
        "category": "image/batch",
        "output_node": False,
        "has_intermediate_output": False,
        "deprecated": True,
        "search_aliases": ["combine images", "merge images", "stack images"],
    },
}


def spec(class_type: str) -> NodeSpec | None:
    info = OBJECT_INFO_0330.get(class_type)
    return None if info is None else NodeSpec.from_object_info(class_type, info)


def test_a_node_that_takes_lists_is_read_as_such() -> None:
    rebatch = spec("RebatchImages")
    assert rebatch is not None
    assert rebatch.input_is_list and rebatch.output_is_list == (True,)
    assert [(i.name, i.type) for i in rebatch.inputs] == [("images", "IMAGE"), ("batch_size", "INT")]
    assert not (rebatch.has_intermediate_output or rebatch.deprecated or rebatch.dev_only or rebatch.output_node)


def test_intermediate_output_and_deprecation_are_read() -> None:
    crop, batch, invert = spec("ImageCropV2"), spec("ImageBatch"), spec("ImageInvert")
    assert crop is not None and batch is not None and invert is not None
    assert crop.has_intermediate_output and not crop.output_node
    assert batch.deprecated and not invert.deprecated
    # A V1 entry without the newer fields (0.3.75) reads as the defaults.
    old = NodeSpec.from_object_info("ImageInvert", {"input": {"required": {"image": ["IMAGE"]}}, "output": ["IMAGE"]})
    assert (old.input_is_list, old.output_is_list, old.has_intermediate_output, old.deprecated) == (False, (False,), False, False)


PROMPT = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
    "2": {"class_type": "RebatchImages", "inputs": {"images": ["1", 0], "batch_size": 4}, "_meta": {"title": "Rebatch $rebatch"}},
    "3": {"class_type": "ImageCropV2", "inputs": {"image": ["2", 0], "crop_region": {"x": 0, "y": 0, "width": 8, "height": 8}}},
    "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "x"}, "_meta": {"title": "Save #out"}},
}


@pytest.mark.parametrize(("value", "accepted"), [(8, True), ([8, 16], False), (["1", 0], False), (0, False)])
def test_an_input_of_a_list_taking_node_still_takes_one_value(value: Any, accepted: bool) -> None:
    # ComfyUI 0.33.0 validates a prompt's list value as a link, and hands the node [value] itself.
    contract = build_contract(parse_endpoint(PROMPT), spec)
    schema = contract.groups["rebatch"].inputs["batch_size"].schema()
    assert schema["type"] == "integer" and schema["minimum"] == 1 and schema["default"] == 4
    assert (check_body(contract, {"rebatch": {"batch_size": value}}) == []) is accepted
