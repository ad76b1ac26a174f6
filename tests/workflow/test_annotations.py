"""The annotation grammar, once for both parsers: connect/annotations.py (the one that counts, at save
time) and web/js/titles.js (its port for hints in the page) must read every title of
title_specimens.json the same way, down to the message of a title that cannot be read."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.titles import NEUTRAL_JS, SPECIMENS, SPECIMENS_FILE, TITLES_JS, expected

from connect.workflow.annotations import Annotations, TitleError, parse_title

# Reads every title with titles.js (copied to .mjs: node reads a bare .js file as CommonJS) and prints
# the readings, in the specimens' order.
NODE_READER = f"""
import {{ readFileSync }} from "node:fs";
const [titlesUrl, specimensPath] = process.argv.slice(2);
const {{ readTitle }} = await import(titlesUrl);
const neutral = {NEUTRAL_JS};
const specimens = JSON.parse(readFileSync(specimensPath, "utf8")).specimens;
process.stdout.write(JSON.stringify(specimens.map((s) => neutral(readTitle(s.title)))));
"""


def neutral(annotations: Annotations) -> dict[str, Any]:
    inputs = [{"name": i.name, "only": None if i.only is None else list(i.only)} for i in annotations.inputs]
    return {"parse": {"inputs": inputs, "outputs": list(annotations.outputs), "bypass": annotations.bypass, "cache": annotations.cache}}


def python_reading(title: str) -> dict[str, Any]:
    try:
        return neutral(parse_title(title))
    except TitleError as exc:
        return {"error": str(exc)}


def test_specimens_are_well_formed() -> None:
    assert len({s["title"] for s in SPECIMENS}) == len(SPECIMENS), "a title is listed twice"
    for specimen in SPECIMENS:
        assert set(specimen) in ({"rule", "title", "parse"}, {"rule", "title", "error"}), specimen


@pytest.mark.parametrize("specimen", SPECIMENS, ids=[s["rule"] for s in SPECIMENS])
def test_python_parser_reads_the_specimen(specimen: dict[str, Any]) -> None:
    assert python_reading(specimen["title"]) == expected(specimen)


def test_js_parser_reads_every_specimen(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: titles.js is still checked in the page by tests/frontend")
    module = tmp_path / "titles.mjs"
    shutil.copyfile(TITLES_JS, module)
    reader = tmp_path / "reader.mjs"
    reader.write_text(NODE_READER)
    done = subprocess.run(
        [node, str(reader), module.as_uri(), str(SPECIMENS_FILE)], capture_output=True, text=True, encoding="utf-8", timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    readings = json.loads(done.stdout)
    wrong = [(s["rule"], s["title"], got, expected(s)) for s, got in zip(SPECIMENS, readings, strict=True) if got != expected(s)]
    assert wrong == [], "titles.js reads these titles differently (rule, title, got, expected)"
