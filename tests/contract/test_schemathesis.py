"""A bounded property-based run of schemathesis against a live server, over every operation.

Settings live in schemathesis.toml beside this file (30 cases per operation and phase, fixed seed,
all four phases, every applicable check); schemathesis_hooks.py keeps generated run deadlines
above a few microseconds. The run fails on any 5xx and on any response the document does not describe.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from launcher import ComfyServer
from support.server import prepare, serve
from support.workflows import TXT2IMG, invert_prompt

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComfyServer]:
    # Its own server: the run saves, overwrites and deletes workflows. URL inputs it makes up fail fast.
    workflows = {"invert": invert_prompt(width=16, height=16), "txt2img": TXT2IMG}
    with serve(prepare(tmp_path_factory.mktemp("fuzzed-comfy")), {"CONNECT_URL_TIMEOUT": "3"}, workflows=workflows) as client:
        yield client.server


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(fuzzed_server: ComfyServer, tmp_path: Path) -> None:
    har = tmp_path / "run.har"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"), "run"]
    command += [f"{fuzzed_server.url}/api/connect/openapi.json", "--report", "har", "--report-har-path", str(har)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]), "NO_COLOR": "1"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{done.stdout[-12000:]}\n{done.stderr[-3000:]}\n--- ComfyUI log ---\n{fuzzed_server.log_tail()}"
    selected = re.search(r"Selected: (\d+)/(\d+)", done.stdout)
    tested = re.search(r"Tested: (\d+)", done.stdout)
    assert selected and tested and tested[1] == selected[1], done.stdout[-3000:]
    # Only the fixture workflows' own save and delete operations are left out (see schemathesis.toml).
    assert int(selected[2]) - int(selected[1]) == 4, done.stdout[-3000:]

    # The run reached the core: real runs, and bodies refused by the contract.
    entries = json.loads(har.read_text())["log"]["entries"]
    runs = Counter(
        e["response"]["status"] for e in entries if e["request"]["method"] == "POST" and "/workflows/invert" in e["request"]["url"]
    )
    assert runs[200] > 0 and runs[422] > 0, runs
