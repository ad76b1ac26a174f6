"""The one way the tests start a real ComfyUI with the plugin: `serve()`, on top of ComfyServer.running().

Each server gets its own base directory (prepared here: the plugin linked in, optionally the test node
pack, tiny models and input files) and its own port; the endpoints a suite needs are saved once it answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from launcher import REPO, ComfyServer, comfyui_dir, prepare_base

from .client import Client
from .images import png
from .models import write_compact_model

TEST_NODES = REPO / "tests" / "nodes" / "connect_test_nodes"
MODEL_A = "tiny-a.safetensors"
MODEL_B = "tiny-b.safetensors"


def prepare(base: Path, *, test_nodes: bool = False, models: bool = False, inputs: dict[str, bytes] | None = None) -> Path:
    """A base directory with the plugin linked in; with the test node pack, two different tiny upscale
    models (MODEL_A, MODEL_B) and files in ComfyUI's input folder if asked (an example.png by default)."""
    prepare_base(base, plugins={"connect_test_nodes": TEST_NODES} if test_nodes else None)
    if models:
        folder = base / "models" / "upscale_models"
        write_compact_model(folder / MODEL_A, seed=1)
        write_compact_model(folder / MODEL_B, seed=2)
    for name, data in (inputs if inputs is not None else {"example.png": png()}).items():
        (base / "input" / name).write_bytes(data)
    return base


@contextmanager
def serve(
    base: Path,
    env: dict[str, str] | None = None,
    *,
    extra_args: Iterable[str] = (),
    workflows: dict[str, dict[str, Any]] | None = None,
    key: str | None = None,
) -> Iterator[Client]:
    """A running ComfyUI on a prepared `base`, with `workflows` saved, as a client (sending `key`).
    Stopped on leaving; if starting or saving fails, its log tail is printed first."""
    if not (comfyui_dir() / "main.py").is_file():
        raise RuntimeError(f"no ComfyUI at {comfyui_dir()}: run scripts/bootstrap or set COMFYUI_DIR")
    with ComfyServer(base, env=dict(env or {}), extra_args=list(extra_args)).running() as server:
        client = Client(server, key)
        for name, prompt in (workflows or {}).items():
            client.saved(name, prompt)
        yield client
