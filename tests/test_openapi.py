from __future__ import annotations

from typing import Any, ClassVar

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from connect.errors import WorkflowCorrupt
from connect.nodespec import NodeSpec
from connect.openapi import PREFIX, build_document
from connect.store import SavedWorkflow
from connect.workflow import parse_endpoint

MAX_RESOLUTION = 16384
SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m"]
SCHEDULERS = ["simple", "normal", "karras"]
CHECKPOINTS = ["tiny.safetensors", "v1-5.safetensors"]
INPUT_FILES = ["example.png"]


class CheckpointLoaderSimple:
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"ckpt_name": (CHECKPOINTS, {"tooltip": "The name of the checkpoint (model) to load."})}}

    RETURN_TYPES = ("MODEL", "CLIP", "VAE")


class CLIPTextEncode:
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "text": ("STRING", {"multiline": True, "dynamicPrompts": True, "tooltip": "The text to be encoded."}),
                "clip": ("CLIP", {"tooltip": "The CLIP model used for encoding the text."}),
            }
        }

    RETURN_TYPES = ("CONDITIONING",)


class EmptyLatentImage:
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "width": ("INT", {"default": 512, "min": 16, "max": MAX_RESOLUTION, "step": 8}),
                "height": ("INT", {"default": 512, "min": 16, "max": MAX_RESOLUTION, "step": 8}),
                "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096}),
            }
        }

    RETURN_TYPES = ("LATENT",)


class KSampler:
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "model": ("MODEL", {}),
                "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": True}),
                "steps": ("INT", {"default": 20, "min": 1, "max": 10000}),
                "cfg": ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}),
                "sampler_name": (SAMPLERS, {}),
                "scheduler": (SCHEDULERS, {}),
                "positive": ("CONDITIONING", {}),
                "negative": ("CONDITIONING", {}),
                "latent_image": ("LATENT", {}),
                "denoise": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}),
            }
        }

    RETURN_TYPES = ("LATENT",)


class VAEDecode:
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"samples": ("LATENT",), "vae": ("VAE",)}}

    RETURN_TYPES = ("IMAGE",)


class LoadImage:
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": (sorted(INPUT_FILES), {"image_upload": True})}}

    RETURN_TYPES = ("IMAGE", "MASK")


class ImageScale:
    upscale_methods: ClassVar = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
    crop_methods: ClassVar = ["disabled", "center"]

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "image": ("IMAGE",),
                "upscale_method": (cls.upscale_methods,),
                "width": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1}),
                "height": ("INT", {"default": 512, "min": 0, "max": MAX_RESOLUTION, "step": 1}),
                "crop": (cls.crop_methods,),
            }
        }

    RETURN_TYPES = ("IMAGE",)


class SaveImage:
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {"images": ("IMAGE", {"tooltip": "The images to save."}), "filename_prefix": ("STRING", {"default": "ComfyUI"})},
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ()
    OUTPUT_NODE = True


CLASSES: dict[str, Any] = {
    cls.__name__: cls
    for cls in [CheckpointLoaderSimple, CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode, LoadImage, ImageScale, SaveImage]
}


def spec(class_type: str) -> NodeSpec | None:
    """What ComfyAdapter.node_spec builds from a V1 class: the /object_info dictionary of the class."""
    cls = CLASSES.get(class_type)
    if cls is None:
        return None
    declared = cls.INPUT_TYPES()
    info = {
        "input": declared,
        "input_order": {key: list(value) for key, value in declared.items()},
        "output": list(cls.RETURN_TYPES),
        "output_node": getattr(cls, "OUTPUT_NODE", False),
    }
    return NodeSpec.from_object_info(class_type, info)


def node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def txt2img_prompt() -> dict[str, dict[str, Any]]:
    return {
        "4": node("CheckpointLoaderSimple", "Load Checkpoint $model [!cache]", ckpt_name="v1-5.safetensors"),
        "6": node("CLIPTextEncode", "$positive", text="a purple galaxy bottle", clip=["4", 1]),
        "7": node("CLIPTextEncode", "$negative", text="blurry", clip=["4", 1]),
        "5": node("EmptyLatentImage", "$size(width,height)", width=512, height=512, batch_size=1),
        "3": node(
            "KSampler",
            "KSampler $sampler(seed,steps,cfg,sampler_name)",
            seed=1234,
            steps=20,
            cfg=7.5,
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
        "11": node(
            "ImageScale",
            "$scale(width,height,upscale_method)",
            upscale_method="bilinear",
            width=256,
            height=0,
            crop="disabled",
            image=["10", 0],
        ),
        "12": node("SaveImage", "$debug() #preview", filename_prefix="debug", images=["11", 0]),
    }


def saved(name: str, prompt: dict[str, Any]) -> SavedWorkflow:
    return SavedWorkflow(name, parse_endpoint(prompt), None, "2025-11-20T10:00:00+00:00")


def document(*workflows: SavedWorkflow, broken: dict[str, Any] | None = None) -> dict[str, Any]:
    return build_document(list(workflows) or [saved("txt2img", txt2img_prompt())], spec, broken or {}, "0.1.0")


def body_schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = doc["paths"][f"{PREFIX}/workflows/{name}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return schema


def body_validator(doc: dict[str, Any], name: str) -> Draft202012Validator:
    # The document is the root, so the body schema's "#/components/..." references resolve.
    pointer = f"#/paths/{PREFIX.replace('/', '~1')}~1workflows~1{name.replace('/', '~1')}/post/requestBody/content/application~1json/schema"
    return Draft202012Validator({**doc, "$ref": pointer})


def test_document_is_valid_openapi() -> None:
    validate(document())


def test_document_with_several_workflows_and_folders_is_valid() -> None:
    doc = document(saved("txt2img", txt2img_prompt()), saved("team/txt2img", txt2img_prompt()), saved("b", txt2img_prompt()))
    validate(doc)
    assert {f"{PREFIX}/workflows/txt2img", f"{PREFIX}/workflows/team/txt2img", f"{PREFIX}/workflows/b"} <= set(doc["paths"])


def test_document_without_workflows_is_valid() -> None:
    doc = build_document([], spec, {}, "0.1.0")
    validate(doc)
    assert {PREFIX, f"{PREFIX}/openapi.json", f"{PREFIX}/workflows", f"{PREFIX}/workflows/{{name}}"} <= set(doc["paths"])
    assert not any(path.startswith(f"{PREFIX}/workflows/") and "{" not in path for path in doc["paths"])


def test_names_that_differ_only_in_punctuation_get_distinct_operation_ids() -> None:
    doc = document(saved("a-b", txt2img_prompt()), saved("a_b", txt2img_prompt()), saved("a/b", txt2img_prompt()))
    validate(doc)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert doc["paths"][f"{PREFIX}/workflows/a_b"]["post"]["operationId"] == "run_a_b"  # an identifier keeps its name


def test_integer_inputs_carry_min_max_and_the_saved_default() -> None:
    sampler = body_schema(document(), "txt2img")["properties"]["sampler"]
    inputs, bypass = sampler["oneOf"]
    assert bypass == {"const": False, "description": "Bypass this node for this call"}
    assert inputs["additionalProperties"] is False
    props = inputs["properties"]
    assert list(props) == ["seed", "steps", "cfg", "sampler_name"]
    assert props["seed"] == {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFFFFFFFFFF, "default": 1234}
    assert props["steps"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 20}
    assert props["cfg"] == {"type": "number", "minimum": 0.0, "maximum": 100.0, "default": 7.5}
    assert props["sampler_name"] == {"enum": SAMPLERS, "default": "euler"}


def test_every_exposed_input_has_its_schema() -> None:
    properties = body_schema(document(), "txt2img")["properties"]
    assert list(properties) == ["model", "positive", "negative", "size", "sampler", "load-image", "scale", "debug"]
    model = properties["model"]["oneOf"][0]["properties"]
    assert model == {
        "ckpt_name": {"enum": CHECKPOINTS, "default": "v1-5.safetensors", "description": "The name of the checkpoint (model) to load."}
    }
    text = properties["positive"]["oneOf"][0]["properties"]["text"]
    assert text == {"type": "string", "x-multiline": True, "default": "a purple galaxy bottle", "description": "The text to be encoded."}
    size = properties["size"]["oneOf"][0]["properties"]
    assert size["width"] == {"type": "integer", "minimum": 16, "maximum": MAX_RESOLUTION, "default": 512}
    scale = properties["scale"]["oneOf"][0]["properties"]
    assert scale["height"] == {"type": "integer", "minimum": 0, "maximum": MAX_RESOLUTION, "default": 0}
    assert scale["upscale_method"] == {"enum": ImageScale.upscale_methods, "default": "bilinear"}


def test_upload_input_also_accepts_a_file_object() -> None:
    image = body_schema(document(), "txt2img")["properties"]["load-image"]["oneOf"][0]["properties"]["image"]
    assert image == {
        "anyOf": [{"enum": INPUT_FILES, "default": "example.png"}, {"$ref": "#/components/schemas/FileInput"}],
        "default": "example.png",
    }


def test_group_without_inputs_only_accepts_false() -> None:
    assert body_schema(document(), "txt2img")["properties"]["debug"] == {"const": False, "description": "Bypass this node for this call"}


def test_outputs_are_listed_in_the_200_response() -> None:
    post = document()["paths"][f"{PREFIX}/workflows/txt2img"]["post"]
    schema = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["output", "preview"]
    assert schema["properties"]["output"] == {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}}
    assert set(post["responses"]) == {"200", "400", "404", "409", "413", "422", "429", "500", "503", "504"}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param(
            {
                "sampler": {"seed": 1234, "steps": 20, "cfg": 7},
                "positive": {"text": "a purple galaxy bottle"},
                "load-image": {"image": {"type": "file", "content": "iVBORw0KGgo=", "name": "in.png"}},
                "debug": False,
            },
            id="issue-example",
        ),
        pytest.param({"load-image": {"image": {"type": "file", "url": "http://example.com/a.png"}}}, id="url-file"),
        pytest.param({"sampler": False, "model": {"ckpt_name": "tiny.safetensors"}}, id="bypass-and-combo"),
    ],
)
def test_body_schema_accepts_valid_payloads(payload: dict[str, Any]) -> None:
    doc = document()
    body_validator(doc, "txt2img").validate(payload)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"sampler": {"steps": 0}}, id="below-min"),
        pytest.param({"sampler": {"seed": -1}}, id="negative-seed"),
        pytest.param({"sampler": {"cfg": 101}}, id="above-max"),
        pytest.param({"sampler": {"steps": "20"}}, id="string-for-int"),
        pytest.param({"sampler": {"sampler_name": "nope"}}, id="not-in-enum"),
        pytest.param({"sampler": {"denoise": 0.5}}, id="not-exposed"),
        pytest.param({"sampler": True}, id="true"),
        pytest.param({"debug": {}}, id="debug-object"),
        pytest.param({"nope": {}}, id="unknown-group"),
        pytest.param({"load-image": {"image": {"type": "file"}}}, id="file-without-content-or-url"),
    ],
)
def test_body_schema_rejects_invalid_payloads(payload: dict[str, Any]) -> None:
    assert not body_validator(document(), "txt2img").is_valid(payload)


def test_the_example_payload_is_valid() -> None:
    doc = document()
    example = doc["paths"][f"{PREFIX}/workflows/txt2img"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert example["sampler"] == {"seed": 1234, "steps": 20, "cfg": 7.5, "sampler_name": "euler"}
    assert "debug" not in example
    body_validator(doc, "txt2img").validate(example)


def test_input_of_an_unknown_class_falls_back_to_the_saved_values_json_type() -> None:
    prompt = txt2img_prompt()
    prompt["20"] = node("CustomThing", "$custom", flag=True, count=3, ratio=0.5, label="x", items=[1])
    props = body_schema(document(saved("w", prompt)), "w")["properties"]["custom"]["oneOf"][0]["properties"]
    assert props == {
        "flag": {"type": "boolean", "default": True},
        "count": {"type": "integer", "default": 3},
        "ratio": {"type": "number", "default": 0.5},
        "label": {"type": "string", "default": "x"},
        "items": {"default": [1]},
    }


def test_broken_workflows_are_described() -> None:
    broken = {"old": WorkflowCorrupt("the stored file of workflow 'old' cannot be used: bad JSON")}
    doc = document(broken=broken)
    validate(doc)
    assert "- `old`: the stored file of workflow 'old' cannot be used: bad JSON" in doc["info"]["description"]


def test_management_routes_are_described() -> None:
    doc = document()
    item = doc["paths"][f"{PREFIX}/workflows/{{name}}"]
    assert set(item) == {"get", "put", "delete"}
    assert item["get"]["parameters"][0]["schema"]["pattern"].startswith("^[A-Za-z0-9_-]")
    assert set(doc["paths"][f"{PREFIX}/workflows/txt2img"]) == {"get", "put", "delete", "post"}
    assert doc["paths"][f"{PREFIX}/workflows/txt2img"]["get"]["parameters"] == []


def test_invalid_document_is_caught_by_the_validator() -> None:
    # The validator used above does fail on a broken document (so the tests above can fail).
    doc = document()
    doc["paths"][f"{PREFIX}/workflows/txt2img"]["post"]["responses"]["200"] = {"content": {}}
    with pytest.raises(OpenAPIValidationError):
        validate(doc)
