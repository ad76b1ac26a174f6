"""Start a real ComfyUI with this plugin in its own base directory, and wait until it serves.

Used by `scripts/serve` (the README's main command), the end-to-end tests and the benchmarks.

Which ComfyUI: `CONNECT_COMFY` names one that `scripts/bootstrap --with-test-tools` prepared, with its
own folder and virtualenv (the test command runs the end-to-end suites once per version). Unset, it is
`COMFYUI_DIR` (a user's ComfyUI) or the 0.3.75 of `.comfyui/`, run with this process's python.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN_DIR_NAME = "ComfyUI-Connect"
DEFAULT_COMFY = "0.3.75"
# CONNECT_COMFY value -> (ComfyUI folder, environment variable naming its venv, default venv folder).
COMFY_VERSIONS = {
    DEFAULT_COMFY: (REPO / ".comfyui", "CONNECT_VENV", REPO / ".venv"),
    "0.33.0": (REPO / ".comfyui-0.33.0", "CONNECT_VENV_0330", REPO / ".venv-comfy-0.33.0"),
}


def comfy_version() -> str | None:
    """The ComfyUI chosen with CONNECT_COMFY, or None (the default: COMFYUI_DIR or .comfyui/)."""
    chosen = os.environ.get("CONNECT_COMFY") or None
    if chosen is not None and chosen not in COMFY_VERSIONS:
        raise RuntimeError(f"CONNECT_COMFY={chosen}: not one of {', '.join(COMFY_VERSIONS)}")
    return chosen


def comfyui_dir() -> Path:
    chosen = comfy_version()
    if chosen is not None:
        return COMFY_VERSIONS[chosen][0]
    return Path(os.environ.get("COMFYUI_DIR") or REPO / ".comfyui")


def comfy_python() -> str:
    """The python that runs ComfyUI: the chosen version's venv, else this process's own."""
    chosen = comfy_version()
    if chosen is None:
        return sys.executable
    _, variable, default = COMFY_VERSIONS[chosen]
    python = Path(os.environ.get(variable) or default) / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"CONNECT_COMFY={chosen}: no {python}: run scripts/bootstrap --with-test-tools")
    return str(python)


@cache
def supports_database_url(comfy: Path) -> bool:
    """Whether this ComfyUI takes --database-url (older ones have no database and refuse the flag)."""
    try:
        return "--database-url" in (comfy / "comfy" / "cli_args.py").read_text(errors="replace")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_base(base: Path, plugins: dict[str, Path] | None = None) -> Path:
    """A ComfyUI base directory with the plugin (and any extra node packs) linked in."""
    nodes = base / "custom_nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    for name, source in {PLUGIN_DIR_NAME: REPO, **(plugins or {})}.items():
        link = nodes / name
        if not link.exists():
            link.symlink_to(source, target_is_directory=True)
    settings = base / "user" / "default" / "comfy.settings.json"
    if not settings.exists():
        settings.parent.mkdir(parents=True, exist_ok=True)
        # A fresh user directory otherwise opens a full-screen templates dialog in the UI.
        settings.write_text(json.dumps({"Comfy.TutorialCompleted": True}))
    for sub in ("input", "output", "temp", "models"):
        (base / sub).mkdir(exist_ok=True)
    return base


@dataclass
class ComfyServer:
    base: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.base / "comfyui.log"

    def start(self, timeout: float = 120.0) -> ComfyServer:
        comfy = comfyui_dir()
        # ComfyUI's default database lives in its own folder (maybe read-only, or shared): keep each
        # server's in its base.
        database = ["--database-url", f"sqlite:///{self.base / 'user' / 'comfyui.db'}"] if supports_database_url(comfy) else []
        cmd = [
            comfy_python(),
            str(comfy / "main.py"),
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--base-directory",
            str(self.base),
            "--disable-api-nodes",
            "--disable-auto-launch",
            *database,
            *self.extra_args,
        ]
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(cmd, cwd=comfy, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/system_stats", timeout=2) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError:
                return  # it answers, behind an API key (CONNECT_PROTECT_ALL) or refusing a broken configuration
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"ComfyUI did not answer within {timeout:g} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(15)

    @contextmanager
    def running(self, timeout: float = 120.0) -> Iterator[ComfyServer]:
        """Started, and stopped on leaving; if anything fails meanwhile, ComfyUI's log tail is printed first."""
        try:
            self.start(timeout)
            yield self
        except BaseException:
            print(self.log_tail(120))
            raise
        finally:
            self.stop()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(15)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"
