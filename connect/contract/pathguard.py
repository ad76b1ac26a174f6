"""Refuse caller strings that would make a node reach a path outside ComfyUI's folders.

ComfyUI joins some input values onto its folders without a check: ``LoadImage`` opens
``os.path.join(input_dir, image)``, so ``{"load": {"image": "../../secret.png"}}`` or an absolute
path would read any image on the machine and send it back as the output. A caller's string for a
path-like input (a combo of files, an upload input, ``filename_prefix``) must therefore be a relative
name: no leading ``/`` or ``\\``, no drive, no ``..`` part, no NUL, control or direction characters,
also after percent-decoding and Unicode NFKC folding (fullwidth ``．．／``). Sub-folders stay allowed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import unquote

from ..comfy.nodespec import InputSpec, SpecLookup
from ..errors import ConnectError, InvalidWorkflow, PayloadError
from ..workflow.endpoint import Endpoint

PATH_INPUTS = ("filename_prefix",)
_UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload", "upload")
_DRIVE = re.compile(r"[A-Za-z]:")


def unsafe_reason(value: str) -> str | None:
    """Why `value` is not a safe relative name, or None when it is."""
    folded = unicodedata.normalize("NFKC", value)
    for form in dict.fromkeys((value, folded, unquote(value), unicodedata.normalize("NFKC", unquote(folded)))):
        odd = [c for c in form if c == "\x00" or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
        if odd:
            return "it contains " + ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(odd))
        if form.startswith(("/", "\\")) or _DRIVE.match(form):
            return "it is an absolute path"
        if ".." in re.split(r"[/\\]", form):
            return "it has a '..' part"
    return None


def is_path_like(name: str, spec: InputSpec | None) -> bool:
    if name in PATH_INPUTS:
        return True
    return spec is not None and (spec.type == "COMBO" or any(spec.options.get(flag) for flag in _UPLOAD_FLAGS))


def check_prompt_paths(prompt: Any, spec: SpecLookup) -> None:
    """The same rule for the values saved in a workflow, so a 'manage' key cannot plant a path either."""
    if not isinstance(prompt, dict):
        return  # parse_endpoint reports the malformed prompt
    problems = []
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict) or not isinstance(node.get("class_type"), str):
            continue
        node_spec = spec(node["class_type"])
        for input_name, value in node["inputs"].items():
            if isinstance(value, str) and is_path_like(input_name, node_spec.input(input_name) if node_spec else None):
                reason = unsafe_reason(value)
                if reason:
                    path = f"node {node_id}.{input_name}"
                    problems.append({"path": path, "message": f"must be a name inside ComfyUI's folders; {reason}", "value": value[:80]})
    _raise(problems, InvalidWorkflow)


def check_path_inputs(endpoint: Endpoint, payload: Any, spec: SpecLookup) -> None:
    if not isinstance(payload, dict):
        return
    problems = []
    for group_name, values in payload.items():
        group = endpoint.groups.get(group_name)
        if group is None or not isinstance(values, dict):
            continue  # payload.py reports these
        for input_name, value in values.items():
            if not isinstance(value, str) or input_name not in group.targets:
                continue
            node_specs = [spec(endpoint.prompt[node_id]["class_type"]) for node_id in group.targets[input_name]]
            if not any(is_path_like(input_name, s.input(input_name) if s else None) for s in node_specs):
                continue
            reason = unsafe_reason(value)
            if reason:
                path = f"{group_name}.{input_name}"
                message = f"must be a name inside ComfyUI's folders; {reason}"
                problems.append({"path": path, "rule": "safe_path", "message": message, "value": value[:80]})
    _raise(problems, PayloadError)


def _raise(problems: list[dict[str, Any]], error: type[ConnectError]) -> None:
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise error(f"'{first['path']}': {first['message']}{more}", {"problems": problems})
