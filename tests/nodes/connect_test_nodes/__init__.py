"""Test-only ComfyUI nodes that misbehave on purpose (the fault tests link this pack into a server).

    ConnectTestRaise       raises RuntimeError(message)
    ConnectTestOOM         raises torch.cuda.OutOfMemoryError (what ComfyUI treats as OOM) or MemoryError
    ConnectTestSlow        passes its image through after `seconds`, interruptible like model layers
    ConnectTestKillWorker  raises SystemExit, which ends ComfyUI's prompt worker thread silently
    ConnectTestSteps       passes its image through after `steps` steps of `seconds` each, reporting each
                           step as a sampler does (comfy.utils.ProgressBar: ComfyUI's "progress" messages)

Each re-executes on every run (IS_CHANGED is NaN), so ComfyUI's cache never hides the fault.
"""

from __future__ import annotations

import time
from typing import Any

import comfy.model_management
import comfy.utils
import torch


class _Base:
    CATEGORY = "connect_test"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def IS_CHANGED(cls, **kwargs: Any) -> float:
        return float("nan")


class ConnectTestRaise(_Base):
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",), "message": ("STRING", {"default": "boom"})}}

    def run(self, image: torch.Tensor, message: str) -> tuple[torch.Tensor]:
        raise RuntimeError(message)


class ConnectTestOOM(_Base):
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",), "kind": (["cuda", "memory"],)}}

    def run(self, image: torch.Tensor, kind: str) -> tuple[torch.Tensor]:
        if kind == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (connect test)")
        raise MemoryError("connect test: cannot allocate memory")


class ConnectTestSlow(_Base):
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",), "seconds": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 600.0})}}

    def run(self, image: torch.Tensor, seconds: float) -> tuple[torch.Tensor]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            comfy.model_management.throw_exception_if_processing_interrupted()
            time.sleep(0.02)
        return (image,)


class ConnectTestSteps(_Base):
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "image": ("IMAGE",),
                "steps": ("INT", {"default": 3, "min": 1, "max": 1000}),
                "seconds": ("FLOAT", {"default": 0.05, "min": 0.0, "max": 60.0}),
            }
        }

    def run(self, image: torch.Tensor, steps: int, seconds: float) -> tuple[torch.Tensor]:
        bar = comfy.utils.ProgressBar(steps)
        for _ in range(steps):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                comfy.model_management.throw_exception_if_processing_interrupted()
                time.sleep(0.01)
            bar.update(1)  # ComfyUI's progress hook also raises here once interrupted
        return (image,)


class ConnectTestKillWorker(_Base):
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",)}}

    def run(self, image: torch.Tensor) -> tuple[torch.Tensor]:
        raise SystemExit("connect test: the prompt worker thread ends here")


NODE_CLASS_MAPPINGS = {
    "ConnectTestRaise": ConnectTestRaise,
    "ConnectTestOOM": ConnectTestOOM,
    "ConnectTestSlow": ConnectTestSlow,
    "ConnectTestKillWorker": ConnectTestKillWorker,
    "ConnectTestSteps": ConnectTestSteps,
}
