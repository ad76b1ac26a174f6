"""What each end-to-end suite's servers are set up with: settings, API keys and the endpoints saved at start.

tests/ (top level)   conftest.py: one server with URL inputs from 127.0.0.1 allowed, one with defaults
tests/io             three servers, each in its own base directory:
                       comfy     CONNECT_KEEP_OUTPUTS off, ComfyUI's --disable-metadata (so a PNG that
                                 goes through LoadImage -> SaveImage comes back byte for byte), small limits
                       kept      CONNECT_KEEP_OUTPUTS=1, ComfyUI's PNG metadata on, download links valid 2 s
                       expiring  download links valid 2 s, outputs not kept, an API key
tests/jobs           signed webhooks, a 3 s sync wait budget, 127.0.0.1 allowed for webhooks
tests/safety         API keys (env and file), every limit set low, CORS; files outside the base directory
tests/contract       the defaults
"""

from __future__ import annotations

import base64
from typing import Any

from .workflows import chain, node, slow_workflow, steps_workflow

# -- tests/ (top level) ----------------------------------------------------------------------
# Small limits so the limit tests need neither big files nor long waits; every other input is tiny.
MAX_FILE_BYTES = 1_000_000
URL_TIMEOUT = 3.0
SETTINGS = {
    "CONNECT_MAX_FILE_BYTES": str(MAX_FILE_BYTES),
    "CONNECT_URL_TIMEOUT": str(URL_TIMEOUT),
    # Several tests read what SaveImage wrote (its filename_prefix); deleting delivered outputs is
    # tested in tests/io, on a server with the default.
    "CONNECT_KEEP_OUTPUTS": "1",
}


# -- tests/io ------------------------------------------------------------------------------------
IO_KEY = "io-admin-key-0123456789abcdef"
MAX_FILE = 20_000_000
MAX_BODY = 40_000_000
MAX_PIXELS = 2048 * 2048 * 2
IO_LIMITS = {"CONNECT_MAX_FILE_BYTES": str(MAX_FILE), "CONNECT_MAX_BODY_BYTES": str(MAX_BODY), "CONNECT_MAX_IMAGE_PIXELS": str(MAX_PIXELS)}


def _canvas(node_id: str, color: int, batch: int = 1, size: int = 16) -> dict[str, Any]:
    return {node_id: node("EmptyImage", f"Canvas $canvas{node_id}", width=size, height=size, batch_size=batch, color=color)}


IO_WORKFLOWS: dict[str, dict[str, Any]] = {
    # inputs
    "io-image": {
        "1": node("LoadImage", "Load $load", image="example.png"),
        "2": node("SaveImage", "Save #out", images=["1", 0], filename_prefix="io-image"),
    },
    "io-pair": {
        "1": node("LoadImage", "$first", image="example.png"),
        "2": node("LoadImage", "$second", image="example.png"),
        "3": node("SaveImage", "#first_out", images=["1", 0], filename_prefix="io-pair-a"),
        "4": node("SaveImage", "#second_out", images=["2", 0], filename_prefix="io-pair-b"),
    },
    "io-mask": {
        "1": node("LoadImageMask", "Mask $mask", image="example.png", channel="red"),
        "2": node("MaskToImage", "", mask=["1", 0]),
        "3": node("SaveImage", "Save #out", images=["2", 0], filename_prefix="io-mask"),
    },
    "io-video": {
        "1": node("LoadVideo", "Load $video", file="example.webm"),
        "2": node("GetVideoComponents", "", video=["1", 0]),
        "3": node("SaveImage", "Frames #frames", images=["2", 0], filename_prefix="io-video"),
    },
    "io-audio": {
        "1": node("ConnectTestLoadAudio", "Load $audio", audio="example.flac"),
        "2": node("ConnectTestSaveAudio", "Save #out", audio=["1", 0], filename_prefix="io-audio/clip"),
    },
    # outputs
    "io-batch": {
        **_canvas("1", 0xFF0000),
        **_canvas("2", 0x00FF00),
        "3": node("ImageBatch", "", image1=["1", 0], image2=["2", 0]),
        "4": node("SaveImage", "Save #out", images=["3", 0], filename_prefix="io-batch"),
    },
    # Noise makes the frames differ: libwebp and Pillow's APNG writer merge identical frames into one.
    "io-webp": {
        **_canvas("1", 0x3366FF, batch=4),
        "2": node("ImageAddNoise", "", image=["1", 0], seed=1, strength=0.5),
        "3": node(
            "SaveAnimatedWEBP", "#out", images=["2", 0], filename_prefix="io-webp", fps=8.0, lossless=True, quality=80, method="default"
        ),
    },
    "io-apng": {
        **_canvas("1", 0x3366FF, batch=3),
        "2": node("ImageAddNoise", "", image=["1", 0], seed=1, strength=0.5),
        "3": node("SaveAnimatedPNG", "#out", images=["2", 0], filename_prefix="io-apng", fps=5.0, compress_level=4),
    },
    "io-webm": {
        **_canvas("1", 0x808080, batch=6, size=64),
        "2": node("SaveWEBM", "#out", images=["1", 0], filename_prefix="io-webm", codec="vp9", fps=12.0, crf=32.0),
    },
    "io-mp4": {
        **_canvas("1", 0x808080, batch=5, size=64),
        "2": node("ConnectTestTone", "", hertz=440.0, seconds=0.5, sample_rate=16000),
        "3": node("CreateVideo", "", images=["1", 0], fps=10.0, audio=["2", 0]),
        "4": node("SaveVideo", "#out", video=["3", 0], filename_prefix="video/io-mp4", format="mp4", codec="h264"),
    },
    "io-tone": {
        "1": node("ConnectTestTone", "Tone $tone", hertz=440.0, seconds=0.5, sample_rate=16000),
        "2": node("ConnectTestSaveAudio", "#out", audio=["1", 0], filename_prefix="io-tone/tone"),
    },
    "io-text": {
        "1": node("PrimitiveString", "$text", value="hello from ComfyUI"),
        "2": node("PreviewAny", "#caption", source=["1", 0]),
    },
    "io-mesh": {
        "1": node("ConnectTestVoxel", "", resolution=8),
        "2": node("VoxelToMeshBasic", "", voxel=["1", 0], threshold=0.5),
        "3": node("SaveGLB", "#mesh", mesh=["2", 0], filename_prefix="mesh/io"),
    },
    "io-latent": {
        "1": node("EmptyLatentImage", "", width=64, height=64, batch_size=1),
        "2": node("SaveLatent", "#latent", samples=["1", 0], filename_prefix="latents/io"),
    },
    "io-preview": {**_canvas("1", 0x00FFFF), "2": node("PreviewImage", "#preview", images=["1", 0])},
    "io-mixed": {
        **_canvas("1", 0xFFFF00),
        "2": node("SaveImage", "#image", images=["1", 0], filename_prefix="io-mixed"),
        "3": node("GetImageSize", "", image=["1", 0]),
        "4": node("PreviewAny", "#width", source=["3", 0]),
    },
    "io-none": _canvas("1", 0),
}


# -- tests/jobs ----------------------------------------------------------------------------------
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"connect-jobs-test-secret-0123456789").decode()
SYNC_WAIT = 3.0
JOBS_ENV = {
    "CONNECT_SYNC_WAIT": str(SYNC_WAIT),
    "CONNECT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "CONNECT_WEBHOOK_BACKOFF": "0.2",
    "CONNECT_WEBHOOK_ATTEMPTS": "3",
    "CONNECT_URL_ALLOW_NETWORKS": "127.0.0.1/32",
    "CONNECT_SSE_HEARTBEAT": "1",
    "CONNECT_RUN_TIMEOUT": "120",
}


JOBS_WORKFLOWS = {"steps": steps_workflow(), "slow": slow_workflow()}


# -- tests/safety --------------------------------------------------------------------------------
ADMIN = "admin-key-0123456789abcdef"
FILE_ADMIN = "file-admin-key-0123456789abcdef"
MANAGER = "manager-key-0123456789abcdef"
RUNNER = "runner-key-0123456789abcdef"
QUEUER = "queuer-key-0123456789abcdef"
KEYS_ENV = f"{ADMIN}, {MANAGER} manage team/* safe-*, {RUNNER} run safe-* team/open, {QUEUER} run safe-*"
KEYS_FILE = f"""# keys for the safety tests
{FILE_ADMIN}   # an admin key from the file
"""
LIMITS = {
    "CONNECT_MAX_FILE_BYTES": "300000",
    "CONNECT_MAX_BODY_BYTES": "500000",
    "CONNECT_MAX_IMAGE_PIXELS": "1000000",
    "CONNECT_MAX_BATCH": "4",
    "CONNECT_MAX_QUEUE": "4",
    "CONNECT_MAX_QUEUE_PER_CLIENT": "2",
    "CONNECT_READY_MAX_QUEUE": "2",
    "CONNECT_URL_TIMEOUT": "2",
    "CONNECT_URL_ALLOW_NETWORKS": "127.0.0.2/32",
    "CONNECT_RUN_TIMEOUT": "60",
}
CORS_ORIGIN = "https://app.example"


SAFETY_ENV = {"CONNECT_API_KEYS": KEYS_ENV, "CONNECT_PROTECT_ALL": "1", "CONNECT_CORS_ORIGINS": CORS_ORIGIN, **LIMITS}
SAFETY_WORKFLOWS: dict[str, dict[str, Any]] = {
    "safe-invert": chain(node("ImageInvert", "Invert")),
    "safe-slow": chain(node("ConnectTestSlow", "Slow $slow", seconds=0.0)),
    "safe-raise": chain(node("ConnectTestRaise", "Raise $raise", message="boom")),
    "safe-oom": chain(node("ConnectTestOOM", "OOM $oom", kind="cuda")),
    "safe-save": {
        **chain(),
        "3": node("SaveImage", "Save $save(filename_prefix) #out", images=["1", 0], filename_prefix="safety"),
    },
    "safe-load": {
        "1": node("LoadImage", "Load $load", image="example.png"),
        "3": node("SaveImage", "Save #out", images=["1", 0], filename_prefix="safety-load"),
    },
    "team/open": chain(),
    "team/closed": chain(),
}


def slow_payload(seconds: float, color: int = 0) -> dict[str, Any]:
    return {"slow": {"seconds": seconds}, "canvas": {"color": color}}
