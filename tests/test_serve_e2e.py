"""`scripts/serve`, the README's main command, run as a user runs it (issue 12).

It stops ComfyUI and exits 0 within seconds on SIGTERM (what `kill`, systemd and `timeout` send) and
SIGINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from launcher import REPO, free_port

SERVE = REPO / "scripts" / "serve"
READY = "Press Ctrl+C to stop."
# Bootstrap's check plus ComfyUI's start; the first run after a fresh bootstrap imports torch cold.
START_TIMEOUT = 300.0
# A correctness bound, not a benchmark: stopping used to hang 30 s (then exit 1 with tracebacks).
STOP_BOUND = 15.0


@dataclass
class Serving:
    process: subprocess.Popen[bytes]
    url: str
    base: Path
    stdout: Path
    stderr: Path

    def output(self) -> str:
        out = self.stdout.read_text(errors="replace")
        err = self.stderr.read_text(errors="replace")
        log = (self.base / "comfyui.log").read_text(errors="replace")[-4000:] if (self.base / "comfyui.log").exists() else ""
        return f"--- stdout\n{out}\n--- stderr\n{err}\n--- comfyui.log (tail)\n{log}"


def comfyui_pids(base: Path) -> list[int]:
    """The ComfyUI processes serving `base` (scripts/serve starts ComfyUI in its own session)."""
    wanted = [b"--base-directory", str(base).encode()]
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(args[i : i + 2] == wanted for i in range(len(args) - 1)):
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serving]:
    base = tmp_path / "base"
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    port = free_port()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        # PORT and CONNECT_BASE_DIR rather than --port and --base-dir: scripts/serve has read them from the start.
        env = {**os.environ, "PORT": str(port), "CONNECT_BASE_DIR": str(base)}
        process = subprocess.Popen([str(SERVE)], stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
    serving = Serving(process, f"http://127.0.0.1:{port}", base, stdout, stderr)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in stdout.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(f"scripts/serve exited with {process.returncode} before serving:\n{serving.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"scripts/serve did not serve within {START_TIMEOUT:g} s:\n{serving.output()}")
            time.sleep(0.2)
        yield serving
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in comfyui_pids(base):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_comfyui_and_exits_0_promptly(serve: Serving, signum: signal.Signals) -> None:
    if signum == signal.SIGINT and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("SIGINT is ignored here, so scripts/serve inherits it ignored (as a background job should)")
    assert comfyui_pids(serve.base), "no ComfyUI process found to watch"
    # The pid of the bash wrapper itself: it must have exec'd Python, or the signal would not reach it.
    started = time.monotonic()
    serve.process.send_signal(signum)
    try:
        code = serve.process.wait(STOP_BOUND)
    except subprocess.TimeoutExpired:
        pytest.fail(f"scripts/serve still running {STOP_BOUND:g} s after {signum.name}:\n{serve.output()}")
    took = time.monotonic() - started
    print(f"{signum.name}: scripts/serve exited with {code} after {took:.2f} s")
    stderr = serve.stderr.read_text(errors="replace")
    assert code == 0, serve.output()
    assert "Traceback" not in stderr, serve.output()
    assert comfyui_pids(serve.base) == [], f"ComfyUI outlived scripts/serve:\n{serve.output()}"


def test_help_names_the_port_and_base_directory_settings() -> None:
    shown = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "serve.py"), "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for setting in ("--port", "PORT", "--base-dir", "CONNECT_BASE_DIR", "example-invert"):
        assert setting in shown
