"""The ComfyUI servers the end-to-end tests run: base directory contents and plugin settings."""

from __future__ import annotations

from pathlib import Path

from launcher import ComfyServer, comfyui_dir, prepare_base

from .models import write_compact_model

MODEL_A = "tiny-a.safetensors"
MODEL_B = "tiny-b.safetensors"
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


def prepare(base: Path) -> Path:
    """A base directory with the plugin linked in and two different tiny upscale models."""
    prepare_base(base)
    models = base / "models" / "upscale_models"
    write_compact_model(models / MODEL_A, seed=1)
    write_compact_model(models / MODEL_B, seed=2)
    return base


def workflows_dir(base: Path) -> Path:
    """Where the plugin stores endpoints by default: <ComfyUI user directory>/connect/workflows."""
    return base / "user" / "connect" / "workflows"


def start(base: Path, *, allow_private_urls: bool) -> ComfyServer:
    if not (comfyui_dir() / "main.py").is_file():
        raise RuntimeError(f"no ComfyUI at {comfyui_dir()}: run scripts/bootstrap or set COMFYUI_DIR")
    env = {**SETTINGS, "CONNECT_ALLOW_PRIVATE_URLS": "1" if allow_private_urls else "0"}
    server = ComfyServer(base, env=env)
    try:
        return server.start()
    except BaseException:
        server.kill()
        raise
