"""Test-only ComfyUI nodes that misbehave on purpose (the fault tests link this pack into a server).

    ConnectTestRaise       raises RuntimeError(message)
    ConnectTestOOM         raises torch.cuda.OutOfMemoryError (what ComfyUI treats as OOM) or MemoryError
    ConnectTestSlow        passes its image through after `seconds`, interruptible like model layers
    ConnectTestKillWorker  raises SystemExit, which ends ComfyUI's prompt worker thread silently
    ConnectTestSteps       passes its image through after `steps` steps of `seconds` each, reporting each
                           step as a sampler does (comfy.utils.ProgressBar: ComfyUI's "progress" messages)

    ConnectTestOnPrompt    passes its image through and shows its `seen` input as UI text; the pack's
                           on_prompt handler (registered with ComfyUI's PromptServer, as other custom
                           nodes do) writes into `seen` what it received, so a test sees that it ran

On a ComfyUI with node replacements (0.33.0), the pack also registers one, as a pack that renamed a
node does: ConnectTestOldSteps(picture, count) is now ConnectTestSteps(image, steps, seconds=0).

Each re-executes on every run (IS_CHANGED is NaN), so ComfyUI's cache never hides the fault.

Stand-ins for ComfyUI's audio nodes (comfy_extras/nodes_audio.py imports torchaudio, which is not
installed here, so LoadAudio and SaveAudio do not exist), and a voxel source for the 3D nodes:

    ConnectTestTone        an AUDIO sine tone (what a model would generate)
    ConnectTestLoadAudio   LoadAudio's contract: an `audio_upload` combo of the input folder's audio and
                           video files, decoded with PyAV as LoadAudio does
    ConnectTestSaveAudio   SaveAudio's UI output ({"audio": [file records]}), written by ComfyUI's own
                           comfy_api AudioSaveHelper (FLAC) into the output folder
    ConnectTestVoxel       a VOXEL ball, for the stock VoxelToMeshBasic -> SaveGLB chain
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

import av
import comfy.model_management
import comfy.utils
import folder_paths
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


class ConnectTestOnPrompt(_Base):
    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",)}, "optional": {"seen": ("STRING", {"default": ""})}}

    def run(self, image: torch.Tensor, seen: str = "") -> dict[str, Any]:
        return {"ui": {"text": [seen]}, "result": (image,)}


def mark_on_prompt(json_data: dict[str, Any]) -> dict[str, Any]:
    """An on_prompt handler: tells each ConnectTestOnPrompt node with an empty `seen` what the handler was given.

    It changes the prompt in place, as handlers do: only an empty `seen` is written, so a second run
    shows whether the first one's change leaked into the saved workflow.
    """
    prompt = json_data.get("prompt")
    for node in prompt.values() if isinstance(prompt, dict) else ():
        if isinstance(node, dict) and node.get("class_type") == "ConnectTestOnPrompt" and not node["inputs"].get("seen"):
            seen = {
                "keys": sorted(json_data),
                "client_id": json_data.get("client_id"),
                "prompt_id": json_data.get("prompt_id"),
                "extra_data": sorted(json_data.get("extra_data") or {}),
            }
            node["inputs"]["seen"] = json.dumps(seen, sort_keys=True)
    return json_data


def _register_with_server() -> None:
    from server import PromptServer

    server = getattr(PromptServer, "instance", None)
    if server is None:  # not imported by a running ComfyUI
        return
    server.add_on_prompt_handler(mark_on_prompt)
    manager = getattr(server, "node_replace_manager", None)
    if manager is not None:  # what comfy_api's NodeReplacement.register does, without its async wrapper
        from comfy_api.latest import io

        mapping = [
            {"new_id": "image", "old_id": "picture"},
            {"new_id": "steps", "old_id": "count"},
            {"new_id": "seconds", "set_value": 0.0},
        ]
        manager.register(io.NodeReplace(new_node_id="ConnectTestSteps", old_node_id="ConnectTestOldSteps", input_mapping=mapping))


_register_with_server()


class ConnectTestTone:
    CATEGORY = "connect_test"
    RETURN_TYPES = ("AUDIO",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "hertz": ("FLOAT", {"default": 440.0, "min": 20.0, "max": 20000.0}),
                "seconds": ("FLOAT", {"default": 0.5, "min": 0.01, "max": 10.0}),
                "sample_rate": ("INT", {"default": 16000, "min": 8000, "max": 48000}),
            }
        }

    def run(self, hertz: float, seconds: float, sample_rate: int) -> tuple[dict[str, Any]]:
        t = torch.arange(int(seconds * sample_rate), dtype=torch.float32) / sample_rate
        wave = 0.5 * torch.sin(2 * math.pi * hertz * t)
        return ({"waveform": wave.reshape(1, 1, -1), "sample_rate": sample_rate},)


class ConnectTestLoadAudio:
    CATEGORY = "connect_test"
    RETURN_TYPES = ("AUDIO",)
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        files = folder_paths.filter_files_content_types(os.listdir(folder_paths.get_input_directory()), ["audio", "video"])
        return {"required": {"audio": (sorted(files), {"audio_upload": True})}}

    @classmethod
    def VALIDATE_INPUTS(cls, audio: str) -> bool | str:  # as LoadAudio: any file of the input folder, also in a subfolder
        return True if folder_paths.exists_annotated_filepath(audio) else f"Invalid audio file: {audio}"

    def load(self, audio: str) -> tuple[dict[str, Any]]:
        with av.open(folder_paths.get_annotated_filepath(audio)) as container:
            stream = container.streams.audio[0]
            frames = [torch.from_numpy(f.to_ndarray()).float().reshape(stream.channels, -1) for f in container.decode(stream)]
            rate = stream.codec_context.sample_rate
        return ({"waveform": torch.cat(frames, dim=1).unsqueeze(0), "sample_rate": rate},)


class ConnectTestSaveAudio:
    CATEGORY = "connect_test"
    RETURN_TYPES = ()
    FUNCTION = "save"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {"audio": ("AUDIO",), "filename_prefix": ("STRING", {"default": "audio/ComfyUI"})},
            # Like SaveAudio: what ComfyUI gives it to embed goes into the file's tags.
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    def save(self, audio: dict[str, Any], filename_prefix: str, prompt: Any = None, extra_pnginfo: Any = None) -> dict[str, Any]:
        from types import SimpleNamespace

        from comfy_api.latest._io import FolderType
        from comfy_api.latest._ui import AudioSaveHelper

        node = SimpleNamespace(hidden=SimpleNamespace(prompt=prompt, extra_pnginfo=extra_pnginfo))
        results = AudioSaveHelper.save_audio(audio, filename_prefix, FolderType.output, node, format="flac")
        return {"ui": {"audio": results}}


class ConnectTestVoxel:
    CATEGORY = "connect_test"
    RETURN_TYPES = ("VOXEL",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"resolution": ("INT", {"default": 8, "min": 4, "max": 64})}}

    def run(self, resolution: int) -> tuple[Any]:
        from comfy_api.latest import VOXEL

        axis = torch.linspace(-1, 1, resolution)
        x, y, z = torch.meshgrid(axis, axis, axis, indexing="ij")
        ball = ((x**2 + y**2 + z**2) < 0.6).float()
        return (VOXEL(ball.unsqueeze(0)),)


NODE_CLASS_MAPPINGS = {
    "ConnectTestRaise": ConnectTestRaise,
    "ConnectTestOOM": ConnectTestOOM,
    "ConnectTestSlow": ConnectTestSlow,
    "ConnectTestKillWorker": ConnectTestKillWorker,
    "ConnectTestSteps": ConnectTestSteps,
    "ConnectTestOnPrompt": ConnectTestOnPrompt,
    "ConnectTestTone": ConnectTestTone,
    "ConnectTestLoadAudio": ConnectTestLoadAudio,
    "ConnectTestSaveAudio": ConnectTestSaveAudio,
    "ConnectTestVoxel": ConnectTestVoxel,
}
