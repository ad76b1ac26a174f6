"""500 calls at concurrency 16 from a second process (scripts/loadtest.py), all correct, memory bounded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from launcher import REPO

pytestmark = pytest.mark.e2e


def test_500_calls_at_concurrency_16_are_all_correct_with_bounded_memory(tmp_path: Path) -> None:
    summary_path = tmp_path / "load.json"
    command = [sys.executable, str(REPO / "scripts" / "loadtest.py"), "--calls", "500", "--concurrency", "16"]
    done = subprocess.run([*command, "--summary", str(summary_path)], capture_output=True, text=True, timeout=900, check=False)
    print(done.stdout, done.stderr[-3000:])  # the figures, in the test log
    summary = json.loads(summary_path.read_text())
    assert summary["errors"] == []
    assert summary["ok"] == 500
    assert summary["rss_growth_mb"] <= summary["rss_bound_mb"]
    assert done.returncode == 0
