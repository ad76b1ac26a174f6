"""Tiny but real SD1.5-format checkpoints, generated with ComfyUI's own modules (no model hub needed).

    python scripts/tiny_models.py DIR/tiny-a.safetensors DIR/tiny-b.safetensors   # with the venv python

Each file is a checkpoint that ComfyUI's `CheckpointLoaderSimple` recognises as SD1.5 and whose whole
txt2img chain runs: a UNet shrunk to one level (SD1.5 is recognised by model_channels=320,
context_dim=768 and 8 heads), a TAESD-layout VAE and a full-size CLIP-L text encoder (random, but
initialised: without CLIP weights the output is NaN). About 280 MB and a few seconds each; the seed
makes the files differ, so two of them are two different models for ComfyUI.

From other Python code (tests, benchmarks) call `generate(paths)`: it runs this file in a subprocess
with the venv's python, so the caller never imports torch or ComfyUI itself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# What ComfyUI's model detection derives from a one-level SD1.5-style UNet state dict.
UNET_CONFIG: dict[str, Any] = {
    "image_size": 32,
    "in_channels": 4,
    "out_channels": 4,
    "model_channels": 320,
    "num_res_blocks": [1],
    "channel_mult": [1],
    "transformer_depth": [1],
    "transformer_depth_output": [1, 1],
    "transformer_depth_middle": 1,
    "use_spatial_transformer": True,
    "context_dim": 768,
    "num_heads": 8,
    "num_head_channels": -1,
    "use_linear_in_transformer": False,
    "legacy": False,
    "adm_in_channels": None,
}


def generate(paths: list[Path], seed: int = 0, timeout: float = 300.0) -> None:
    """Write one checkpoint per path (skipping those that exist), seeds `seed`, `seed + 1`, ..."""
    missing = [p for p in paths if not p.exists()]
    if not missing:
        return
    python = Path(os.environ.get("CONNECT_VENV") or REPO / ".venv") / "bin" / "python"
    cmd = [str(python if python.exists() else sys.executable), str(Path(__file__).resolve()), "--seed", str(seed), *map(str, paths)]
    subprocess.run(cmd, check=True, timeout=timeout)


def _initialise(module: Any, torch: Any) -> None:
    # ComfyUI's layers skip weight initialisation (they expect a checkpoint); give every tensor a sane value.
    with torch.no_grad():
        for name, param in module.named_parameters():
            if param.dim() == 0:
                continue  # TAESD's vae_scale / vae_shift keep their defaults (1.0, 0.0)
            if param.dim() == 1:
                param.fill_(1.0 if name.endswith("weight") else 0.0)  # norms: identity; biases: zero
            else:
                param.normal_(0.0, 0.02)


def _state_dict(seed: int) -> dict[str, Any]:
    import comfy.cli_args

    comfy.cli_args.args.cpu = True  # before comfy.model_management is imported: it probes for CUDA at import
    import comfy.ldm.modules.diffusionmodules.openaimodel as openaimodel
    import comfy.ops
    import comfy.sd1_clip
    import comfy.taesd.taesd
    import torch

    torch.manual_seed(seed)
    unet = openaimodel.UNetModel(**UNET_CONFIG, operations=comfy.ops.disable_weight_init)
    vae = comfy.taesd.taesd.TAESD()
    clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float32)
    parts: dict[str, Any] = {"model.diffusion_model.": unet, "first_stage_model.": vae, "cond_stage_model.": clip}
    tensors = {}
    for prefix, module in parts.items():
        _initialise(module, torch)
        for key, value in module.state_dict().items():
            # CLIP's position ids are integers; everything else is stored in half precision to stay small.
            tensors[prefix + key] = value if not value.is_floating_point() else value.to(torch.float16)
    return {k: v.contiguous() for k, v in tensors.items()}


def _write(path: Path, seed: int) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(_state_dict(seed), str(tmp))
    os.replace(tmp, path)  # a half-written file must never look like a checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    comfyui = Path(os.environ.get("COMFYUI_DIR") or REPO / ".comfyui")
    sys.path.insert(0, str(comfyui))
    for index, path in enumerate(args.paths):
        if not path.exists():
            _write(path, args.seed + index)
            print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
