"""The OpenAPI pieces of inputs and outputs: run responses per delivery mode, the multipart body, the files route.

Kept beside delivery.py's media types so the document and the responses cannot drift apart;
run.py puts these pieces into each run operation.
"""

from __future__ import annotations

from typing import Any

from ...io.delivery import MEDIA_TYPES, QUERY, Mode
from ...io.media import KINDS

_REF = "#/components/schemas/"
_BINARY = {"type": "string", "format": "binary"}
# What raw delivery and the files route answer with: the file's own type.
RAW_MEDIA_TYPES = ("application/octet-stream", "image/*", "video/*", "audio/*", "model/*", "text/plain")
_NULLABLE_INT = {"type": ["integer", "null"], "minimum": 0}

SCHEMAS: dict[str, Any] = {
    "OutputValue": {
        "type": "object",
        "description": 'A value a node shows rather than a file, under the key the node gives it: `{"text": "..."}` '
        "for PreviewAny (Preview as Text) and other text previews",
        "minProperties": 1,
        "maxProperties": 1,
    },
    "DetailedFile": {
        "type": "object",
        "description": "An output file with what is known about it",
        "properties": {
            "type": {"const": "file"},
            "filename": {"type": "string", "description": "Its name in ComfyUI's folder (the file itself is deleted after delivery)"},
            "subfolder": {"type": "string"},
            "folder": {"type": "string", "description": "ComfyUI's folder type: output, or temp for preview nodes"},
            "mime_type": {"type": "string", "examples": ["image/png", "image/webp", "video/webm", "audio/flac", "model/gltf-binary"]},
            "kind": {"enum": list(KINDS)},
            "size": {"type": "integer", "minimum": 0, "description": "Bytes"},
            "width": {**_NULLABLE_INT, "description": "Pixels (images and video)"},
            "height": {**_NULLABLE_INT, "description": "Pixels (images and video)"},
            "frames": {**_NULLABLE_INT, "description": "Frames of an animation or video; 1 for a still image"},
            "duration": {"type": ["number", "null"], "minimum": 0, "description": "Seconds (animations, video, audio)"},
            "content": {"type": "string", "contentEncoding": "base64"},
        },
        "required": ["type", "filename", "mime_type", "kind", "size", "width", "height", "frames", "duration", "content"],
    },
    "DetailedValue": {
        "type": "object",
        "description": "A value a node shows (PreviewAny's text), under its UI key",
        "properties": {"type": {"const": "value"}, "key": {"type": "string", "examples": ["text"]}, "value": {}},
        "required": ["type", "key", "value"],
    },
}

# The multipart part that carries the JSON payload beside the files.
PAYLOAD_PART = "payload"


def _outputs(names: list[str] | None, item: dict[str, Any]) -> dict[str, Any]:
    array = {"type": "array", "items": item}
    if names is None:
        return {"type": "object", "additionalProperties": array}
    return {"type": "object", "properties": {name: array for name in names}, "required": names, "additionalProperties": False}


def run_success(names: list[str] | None) -> dict[str, Any]:
    """The 200 response of a run: one media type per delivery mode."""
    value = {"$ref": _REF + "OutputValue"}
    base64 = {"oneOf": [{"type": "string", "contentEncoding": "base64"}, value]}
    url = {"oneOf": [{"type": "string", "format": "uri", "description": "A download link (GET, no API key needed)"}, value]}
    detailed = {"oneOf": [{"$ref": _REF + "DetailedFile"}, {"$ref": _REF + "DetailedValue"}]}
    raw = {"schema": _BINARY}  # the file's own type: image/png, video/webm, ...
    headers = {
        "X-Connect-Prompt-Id": {"schema": {"type": "string"}, "description": "ComfyUI's prompt id of this run"},
        "X-Connect-Output": {"schema": {"type": "string"}, "description": "raw delivery: the `#` output the file belongs to"},
        "Content-Disposition": {"schema": {"type": "string"}, "description": "raw delivery: the file's name"},
    }
    return {
        "description": "Every `#` output, nodes in workflow order and files in batch order, in the form the caller chose "
        "(`?output=` or the Accept header): base64 files (default), download links, detailed objects, or the one file's bytes",
        "headers": headers,
        "content": {
            MEDIA_TYPES[Mode.BASE64]: {"schema": _outputs(names, base64)},
            MEDIA_TYPES[Mode.URL]: {"schema": _outputs(names, url)},
            MEDIA_TYPES[Mode.DETAILED]: {"schema": _outputs(names, detailed)},
            **{media: raw for media in RAW_MEDIA_TYPES},
        },
    }


OUTPUT_PARAMETER: dict[str, Any] = {
    "name": QUERY,
    "in": "query",
    "required": False,
    "description": "How outputs are delivered: `base64` files in JSON (the default), `url` download links valid for "
    "CONNECT_FILE_URL_TTL seconds, `raw` bytes of the single output file (406 when the run has not exactly one output), "
    "`detailed` objects with MIME type, size, width, height, frames and duration. Wins over the Accept header.",
    "schema": {"type": "string", "enum": [m.value for m in Mode], "default": Mode.BASE64.value},
}


# GET of a job: the outputs as its run call chose (a raw run's as url links), or another JSON form.
JOB_OUTPUT_PARAMETER: dict[str, Any] = {
    "name": QUERY,
    "in": "query",
    "required": False,
    "description": "How this answer shows the outputs: `base64`, `url` download links or `detailed` objects. "
    "Default: as the run call chose them (`?output=` or the Accept header); a `raw` run, whose bytes cannot sit in JSON, "
    "shows `url` links. Webhooks carry the outputs as this default does.",
    "schema": {"type": "string", "enum": [m.value for m in Mode if m is not Mode.RAW]},
}
# One item of a job's output in any JSON form: base64 or a link (strings), a value, a detailed object.
JOB_OUTPUT_ITEM: dict[str, Any] = {
    "anyOf": [
        {"type": "string"},
        {"$ref": _REF + "OutputValue"},
        {"$ref": _REF + "DetailedFile"},
        {"$ref": _REF + "DetailedValue"},
    ]
}


def multipart_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The same run body as a `payload` part, with the files it refers to as further parts."""
    return {
        "schema": {
            "type": "object",
            "description": 'The JSON body in the `payload` part; each other part is a file an input names as {"type": "file", '
            '"part": "<part name>"}. Parts are streamed to disk with the size limits checked while reading.',
            "properties": {PAYLOAD_PART: payload},
            "additionalProperties": _BINARY,
        },
        "encoding": {PAYLOAD_PART: {"contentType": "application/json"}},
    }


def files_operation(not_found: dict[str, Any]) -> dict[str, Any]:
    token = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}, "description": "From a `?output=url` run"}
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The file's name"}
    return {
        "operationId": "download_file",
        "summary": "Download an output file by the link a run gave (?output=url); 404 once the link expired",
        "tags": ["workflows"],
        "parameters": [token, name],
        "responses": {
            "200": {
                "description": "The file, with its Content-Type",
                "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                "content": {media: {"schema": _BINARY} for media in RAW_MEDIA_TYPES},
            },
            **not_found,
        },
    }
