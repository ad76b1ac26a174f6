"""The README's main command: a real ComfyUI on 127.0.0.1 with the plugin and an example endpoint."""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.request
from pathlib import Path

from launcher import REPO, ComfyServer, prepare_base


def main() -> int:
    port = int(os.environ.get("PORT", "8188"))
    base = prepare_base(Path(os.environ.get("CONNECT_BASE_DIR") or REPO / "var"))
    server = ComfyServer(base, port=port)

    # Stopped by a signal (systemd, `timeout`, a terminal closing): take ComfyUI down too, since it runs
    # in its own session and would otherwise outlive this script.
    def stop(*_: object) -> None:
        server.stop()
        sys.exit(0)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    print(f"starting ComfyUI on {server.url} (base directory {base}, log {server.log_path}) ...", flush=True)
    server.start()
    prompt = json.loads((REPO / "examples" / "invert.json").read_text())
    request = urllib.request.Request(
        f"{server.url}/api/connect/workflows/example-invert", data=json.dumps({"prompt": prompt}).encode(), method="PUT"
    )
    with urllib.request.urlopen(request) as response:
        print(f"saved example endpoint 'example-invert' (HTTP {response.status})")
    print(
        f"""
ComfyUI with ComfyUI-Connect is running at {server.url}
  API docs:   {server.url}/api/connect
  endpoints:  curl {server.url}/api/connect/workflows
  run one:    curl -d '{{"canvas": {{"width": 128, "color": 255}}}}' {server.url}/api/connect/workflows/example-invert
Press Ctrl+C to stop.""",
        flush=True,
    )
    try:
        assert server.process is not None
        return server.process.wait()
    except KeyboardInterrupt:
        server.stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
