"""Tiny random-weight upscale models that ComfyUI's stock `UpscaleModelLoader` accepts.

Real-ESRGAN-compact (SRVGGNetCompact) as spandrel detects it: `body.0` conv, `body.1` PReLU, then
`num_conv` (conv, PReLU) pairs, and a last conv with `3 * scale**2` output channels. With 4
features and one inner conv the file is about 3 KB; built with numpy so the tests need no torch.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file


def compact_state_dict(seed: int, *, features: int = 4, inner_convs: int = 1, scale: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    channels = [3] + [features] * (inner_convs + 1) + [3 * scale * scale]
    state: dict[str, np.ndarray] = {}
    for i, (c_in, c_out) in enumerate(itertools.pairwise(channels)):
        conv = 2 * i
        state[f"body.{conv}.weight"] = (rng.standard_normal((c_out, c_in, 3, 3)) * 0.1).astype(np.float32)
        state[f"body.{conv}.bias"] = np.zeros(c_out, dtype=np.float32)
        if i < len(channels) - 2:
            state[f"body.{conv + 1}.weight"] = np.full(c_out, 0.25, dtype=np.float32)  # PReLU slope
    return state


def write_compact_model(path: Path, seed: int, *, scale: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(compact_state_dict(seed, scale=scale), str(path))
    return path
