"""The house rules of connect/, checked by reading its source: folders import only downward, no module
imports itself back through others, no module grows past the size a reader can hold."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "connect"
# Lowest first: a module may import from its own folder and from any folder before it, never after.
LAYERS = ("errors", "settings", "comfy", "workflow", "io", "contract", "run", "cluster", "ops", "http", "plugin")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE).with_suffix("").parts): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> Iterator[str]:
    """The connect modules `name` imports, as dotted names inside connect (relative imports resolved)."""
    here = name.split(".")[:-1]  # the package a relative import starts from (also for __init__)
    known = _modules()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            target = [*base, *(node.module.split(".") if node.module else [])]
            for alias in node.names:
                full = ".".join([*target, alias.name])
                yield full if full in known else ".".join(target)


def _layer(module: str) -> int:
    top = module.split(".")[0]
    return LAYERS.index(top)


def test_every_module_belongs_to_a_layer() -> None:
    strays = [m for m in _modules() if m.split(".")[0] not in LAYERS and m != "__init__"]
    assert strays == [], f"modules outside the named folders {LAYERS}: {strays}"


@pytest.mark.parametrize("module", sorted(m for m in _modules() if m != "__init__"))
def test_imports_only_go_down(module: str) -> None:
    mine = _layer(module)
    upward = [t for t in _imports(module, _modules()[module]) if t and _layer(t) > mine]
    assert upward == [], f"{module} imports from a higher layer: {upward} (order: {' < '.join(LAYERS)})"


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = {m: {t for t in _imports(m, p) if t in modules and t != m} for m, p in modules.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            pytest.fail("import cycle: " + " -> ".join(cycle))


@pytest.mark.parametrize("module", sorted(_modules()))
def test_modules_stay_readable(module: str) -> None:
    lines = len(_modules()[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"connect/{module.replace('.', '/')}.py has {lines} lines; split it (at most {MAX_LINES})"
