"""`scripts/serve`, the README's main command, run as a user runs it (issue 12).

It stops ComfyUI and exits 0 within seconds on SIGTERM (what `kill`, systemd and `timeout` send) and
SIGINT, and the README's first `curl` example works as written against what it sets up.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from launcher import REPO, free_port
from PIL import Image

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


def readme_first_curl() -> tuple[list[str], dict[str, object]]:
    """The README's first `curl` command, split as a shell would, and the answer it shows (the comment below it)."""
    lines = (REPO / "README.md").read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("curl "))
    shown = re.fullmatch(r"# (\{.*\})", lines[index + 1])
    assert shown, f"the README's first curl example is not followed by its answer: {lines[index + 1]!r}"
    return shlex.split(lines[index]), json.loads(shown.group(1))


@pytest.mark.e2e
def test_the_readmes_first_curl_example_runs_as_written_against_scripts_serve(serve: Serving) -> None:
    command, shown = readme_first_curl()
    assert command[0] == "curl"
    options = command[1:]
    urls = [word for word in options if word.startswith("http://")]
    assert len(urls) == 1, command
    body = options[options.index("-d") + 1]
    assert set(options) == {"-d", body, urls[0]}, f"update this test for the README's new curl options: {command}"
    url = urlsplit(urls[0])
    assert url.netloc == "127.0.0.1:8188", "the README's example names scripts/serve's default address"
    # What `curl -d` sends: a POST with curl's default form content type (the plugin reads any non-multipart body as JSON).
    response = requests.post(
        serve.url + url.path + (f"?{url.query}" if url.query else ""),
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=120,
    )
    assert response.status_code == 200, f"{response.status_code} {response.text}\n{serve.output()}"
    answer = response.json()
    assert answer.keys() == shown.keys(), f"the README shows {shown}, the answer has {list(answer)}"
    for name, files in answer.items():
        assert files, f"no file under {name!r}"
        for encoded in files:
            assert encoded.startswith("iVBORw0KGgo")  # a PNG, as the README's shown answer begins
            with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
                image.verify()


def test_help_names_the_port_and_base_directory_settings() -> None:
    shown = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "serve.py"), "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for setting in ("--port", "PORT", "--base-dir", "CONNECT_BASE_DIR", "example-invert"):
        assert setting in shown
