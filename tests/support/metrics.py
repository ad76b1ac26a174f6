"""Reading /api/connect/metrics in tests that name series without their `instance` label.

assert "connect_runs_in_flight 4.0" in without_instance(text)
"""

from __future__ import annotations

import re


def without_instance(text: str) -> str:
    """The text with each series' `instance` label taken out (it sorts first among the plugin's labels)."""
    return re.sub(r'instance="(?:[^"\\]|\\.)*",?', "", text).replace("{}", "")
