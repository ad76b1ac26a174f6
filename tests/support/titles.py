"""The title specimens both annotation parsers are checked against (title_specimens.json), and the
neutral shape a reading of titles.js is put in to compare it with connect/workflow/annotations.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SPECIMENS_FILE = HERE / "title_specimens.json"
SPECIMENS: list[dict[str, Any]] = json.loads(SPECIMENS_FILE.read_text(encoding="utf-8"))["specimens"]
TITLES_JS = HERE.parent.parent / "web" / "js" / "titles.js"

# titles.js's readTitle() notes -> the neutral shape of the specimens (also used in the page by
# tests/frontend/test_annotation_badges.py).
NEUTRAL_JS = """(notes) => {
  const problem = notes.find((n) => n.kind === "problem");
  if (problem) return { error: problem.text };
  const parse = { inputs: [], outputs: [], bypass: false, cache: false };
  for (const n of notes) {
    if (n.kind === "input") parse.inputs.push({ name: n.name, only: n.only ?? null });
    else if (n.kind === "output") parse.outputs.push(n.name);
    else parse[n.kind] = true;
  }
  return { parse };
}"""


def expected(specimen: dict[str, Any]) -> dict[str, Any]:
    return {key: specimen[key] for key in ("parse", "error") if key in specimen}
