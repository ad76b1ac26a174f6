"""What the plugin's prompts give ComfyUI's nodes to embed in their files: the endpoint's public prompt.

Part of the adapter (it touches ComfyUI's execution module); apart only to keep each file readable.
"""

from __future__ import annotations

import inspect
from typing import Any

# extra_data key of the plugin's prompts: {"prompt": <what outputs may embed as their prompt, or None>}.
EMBED_KEY = "connect_embed"

# ComfyUI hands every node that declares the hidden input PROMPT (V1) or io.Hidden.prompt (V3) the whole
# queued prompt, and SaveImage, SaveAnimatedWEBP/PNG, SaveVideo, SaveWEBM, SaveAudio, SaveGLB... write it
# into their files. A prompt queued by the plugin also holds every endpoint's `!cache` keepalive nodes
# and the `connect_run` input of its outputs: they must never reach a file. Both 0.3.75 and 0.33.0
# build those hidden inputs in `execution.get_input_data(..., dynprompt, extra_data)` from
# `dynprompt.get_original_prompt()` and `extra_data["extra_pnginfo"]`, so for the plugin's own prompts
# (their extra_data carries EMBED_KEY) the prompt nodes see is swapped for the public one there: every
# node and format embeds only what the endpoint's owner allows, because ComfyUI itself writes it.
_GET_INPUT_DATA = ["inputs", "class_def", "unique_id", "execution_list", "dynprompt", "extra_data"]


class _PublicPrompt:
    """A DynamicPrompt whose `get_original_prompt()` is the public prompt; everything else is the real one."""

    def __init__(self, inner: Any, public: dict[str, Any] | None) -> None:
        self._inner = inner
        self._public = public

    def get_original_prompt(self) -> dict[str, Any] | None:
        return self._public

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install_embed_hook(execution: Any) -> None:
    """Wrap `execution.get_input_data` once; fails loudly if ComfyUI changed it (then nothing is swapped)."""
    original = execution.get_input_data
    if getattr(original, "_connect_embed", False):
        return
    params = list(inspect.signature(original).parameters)
    if params != _GET_INPUT_DATA:
        raise RuntimeError(f"ComfyUI-Connect: unsupported execution.get_input_data signature {params} (expected {_GET_INPUT_DATA})")

    def get_input_data(
        inputs: Any, class_def: Any, unique_id: Any, execution_list: Any = None, dynprompt: Any = None, extra_data: Any = None
    ) -> Any:
        extra = {} if extra_data is None else extra_data
        embed = extra.get(EMBED_KEY) if isinstance(extra, dict) else None
        if not isinstance(embed, dict) or dynprompt is None:
            return original(inputs, class_def, unique_id, execution_list, dynprompt, extra)
        public = _PublicPrompt(dynprompt, embed.get("prompt"))
        found = original(inputs, class_def, unique_id, execution_list, public, extra)
        # Only PROMPT is the public one: a node asking for DYNPROMPT (graph expansion) gets the real graph.
        for part in (found[0], found[2]):  # V1 inputs; V3 hidden inputs (0.33.0: nested under "hidden_inputs")
            _restore(part, public, dynprompt)
        return found

    get_input_data._connect_embed = True  # type: ignore[attr-defined]
    execution.get_input_data = get_input_data
    _probe_embed_hook(execution)


def _restore(values: Any, proxy: Any, real: Any, depth: int = 2) -> None:
    if not isinstance(values, dict) or depth == 0:
        return
    for key, value in values.items():
        if value is proxy:
            values[key] = real
        elif isinstance(value, list) and len(value) == 1 and value[0] is proxy:
            values[key] = [real]
        elif isinstance(value, dict):
            _restore(value, proxy, real, depth - 1)


class _Probe:
    """A V1 node that asks for what SaveImage asks for."""

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {}, "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO", "dynprompt": "DYNPROMPT"}}


def _probe_embed_hook(execution: Any) -> None:
    """Run the hook once on a real DynamicPrompt: proof at setup that the swap takes effect."""
    from comfy_execution.graph import DynamicPrompt

    secret = {"1": {"class_type": "Secret", "inputs": {}}}
    public = {"2": {"class_type": "Public", "inputs": {}}}
    extra = {EMBED_KEY: {"prompt": public}, "extra_pnginfo": {"workflow": {"nodes": []}}}
    graph = DynamicPrompt(secret)
    found = execution.get_input_data({}, _Probe, "probe", None, graph, extra)[0]
    expected = {"prompt": [public], "extra_pnginfo": [{"workflow": {"nodes": []}}]}
    if {k: found.get(k) for k in expected} != expected or found.get("dynprompt") != [graph]:
        raise RuntimeError(f"ComfyUI-Connect: the hidden-prompt hook has no effect on this ComfyUI (got {found!r})")
