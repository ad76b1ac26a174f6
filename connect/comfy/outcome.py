"""What ComfyUI reports when a prompt ends, as one typed value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunResult:
    prompt_id: str
    outputs: dict[str, Any]  # node id -> UI output
    messages: list[Any]
