"""What an endpoint's output files may carry about how they were made (PNG text chunks, EXIF, video tags...).

    extra = embedding("full", queued_prompt, endpoint.prompt, ui_workflow)
    -> {"connect_embed": {"prompt": <the endpoint's nodes with the caller's values>},
        "extra_pnginfo": {"workflow": <the stored UI graph>}}

Modes, set per endpoint (saved with it) or for the server (CONNECT_METADATA):

    none      no generation metadata at all (the default: an endpoint's prompt can hold hidden prompts,
              LoRA and model names its owner does not want in every file sold or shown)
    prompt    the endpoint's prompt only (what ComfyUI's "Queue" reads back as API format)
    workflow  the stored UI workflow only (the image opens as the endpoint's graph on ComfyUI's canvas)
    full      both, like an image saved from ComfyUI's own UI

The public prompt is the queued one without the plugin's internals: no `!cache` keepalive nodes of
other endpoints, no `connect_run` input on output nodes. The adapter makes ComfyUI hand it to the
nodes in place of the queued prompt (comfy/hidden_prompt.py, `install_embed_hook`).
"""

from __future__ import annotations

from typing import Any

from ..comfy.hidden_prompt import EMBED_KEY
from ..workflow.endpoint import Prompt
from ..workflow.store import Metadata
from .outputs import RUN_INPUT


def public_prompt(queued: Prompt, own: Prompt) -> Prompt:
    """The queued prompt as its endpoint's owner wrote it (`own`), with the caller's values and nothing of the plugin."""
    public: Prompt = {}
    for node_id, node in queued.items():
        if node_id not in own:  # a `!cache` keepalive node (of any endpoint): the plugin's, not this endpoint's
            continue
        # A copy: ComfyUI adds to the nodes of the prompt it runs (e.g. "is_changed") while it runs.
        public[node_id] = {**node, "inputs": {k: v for k, v in node.get("inputs", {}).items() if k != RUN_INPUT}}
    return public


def embedding(mode: Metadata, queued: Prompt, own: Prompt, workflow: Any) -> dict[str, Any]:
    """The extra_data fields of a run: what its output nodes are given to embed."""
    extra: dict[str, Any] = {EMBED_KEY: {"prompt": public_prompt(queued, own) if mode in ("full", "prompt") else None}}
    if mode in ("full", "workflow") and isinstance(workflow, dict):
        extra["extra_pnginfo"] = {"workflow": workflow}
    return extra
