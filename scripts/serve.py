"""The README's main command: a real ComfyUI on 127.0.0.1 with the plugin and an example endpoint."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path
from types import FrameType

from launcher import REPO, ComfyServer, prepare_base

EXAMPLE = "example-invert"
# SIGINT is Ctrl+C; SIGTERM is what `kill`, systemd and `timeout` send; SIGHUP comes when the terminal closes.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """A stop signal arrived."""


def ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    # Only unwinds the main thread out of whatever it waits on (ComfyUI's start, or its exit); stopping
    # ComfyUI happens there. Doing it here, inside the main thread's Popen.wait(), would wait on a lock
    # that very wait holds: it used to hang 30 s and exit 1 with two tracebacks. Further signals are
    # ignored, so a second one cannot cut the stopping short and leave ComfyUI running.
    ignore_stop_signals()
    raise Stopped(signal.Signals(signum).name)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/serve",
        description=f"Run a real ComfyUI with ComfyUI-Connect on 127.0.0.1, with the example endpoint '{EXAMPLE}' "
        "(examples/invert.json) saved. Stops ComfyUI and exits 0 on Ctrl+C, SIGTERM or SIGHUP.",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8188), help="port (env PORT, default 8188)")
    parser.add_argument(
        "--base-dir",
        type=Path,
        default=Path(os.environ.get("CONNECT_BASE_DIR") or REPO / "var"),
        help="ComfyUI base directory: models, inputs, outputs, saved endpoints, comfyui.log (env CONNECT_BASE_DIR, default var/)",
    )
    return parser.parse_args(argv)


def save_example(server: ComfyServer) -> None:
    prompt = json.loads((REPO / "examples" / "invert.json").read_text())
    request = urllib.request.Request(
        f"{server.url}/api/connect/workflows/{EXAMPLE}", data=json.dumps({"prompt": prompt}).encode(), method="PUT"
    )
    with urllib.request.urlopen(request) as response:
        print(f"saved example endpoint '{EXAMPLE}' (HTTP {response.status})")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    base = prepare_base(args.base_dir)
    server = ComfyServer(base, port=args.port)
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # e.g. nohup's SIGHUP stays ignored
            signal.signal(signum, _raise_stopped)
    try:
        print(f"starting ComfyUI on {server.url} (base directory {base}, log {server.log_path}) ...", flush=True)
        server.start()
        save_example(server)
        print(
            f"""
ComfyUI with ComfyUI-Connect is running at {server.url}
  API docs:   {server.url}/api/connect
  endpoints:  curl {server.url}/api/connect/workflows
  run one:    curl -d '{{"canvas": {{"width": 128, "color": 255}}}}' {server.url}/api/connect/workflows/{EXAMPLE}
Press Ctrl+C to stop.""",
            flush=True,
        )
        assert server.process is not None
        code = server.process.wait()
        print(f"ComfyUI exited with {code} (log {server.log_path})", file=sys.stderr)
        return code
    except Stopped as stopped:
        print(f"{stopped}: stopping ComfyUI ...", flush=True)
        return 0
    finally:
        # ComfyUI runs in its own session, so no signal reaches it unless sent here.
        ignore_stop_signals()
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
