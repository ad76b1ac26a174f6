from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def normalised(requirements: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name not in found, f"{name} is listed twice"
        found[name] = str(requirement.specifier)
    return found


def test_requirements_txt_and_pyproject_dependencies_are_the_same() -> None:
    in_requirements = normalised(requirement_lines(ROOT / "requirements.txt"))
    in_pyproject = normalised(pyproject()["project"]["dependencies"])
    assert in_requirements == in_pyproject
    assert in_requirements  # the plugin does need aiohttp & co.


def test_runtime_dependencies_never_pull_torch() -> None:
    # ComfyUI brings its own torch; a plugin that asks for one can replace it with a CPU or CUDA build.
    names = set(normalised(requirement_lines(ROOT / "requirements.txt")))
    assert not names & {"torch", "torchvision", "torchaudio"}


def test_dev_requirements_are_pinned() -> None:
    for text in requirement_lines(ROOT / "requirements" / "dev.txt"):
        specifiers = list(Requirement(text).specifier)
        assert [s.operator for s in specifiers] == ["=="], text


def test_comfy_registry_metadata() -> None:
    data = pyproject()
    comfy = data["tool"]["comfy"]
    assert comfy["PublisherId"]
    assert comfy["DisplayName"] == "ComfyUI-Connect"
    assert data["project"]["name"]
    assert data["project"]["version"]
    assert data["project"]["license"] == {"file": "LICENSE"}
    assert (ROOT / "LICENSE").is_file()


def test_plugin_entry_exports_what_comfyui_reads_and_does_nothing_outside_it() -> None:
    # Loaded the way ComfyUI loads custom_nodes/<folder>/__init__.py, as a package of its own.
    spec = importlib.util.spec_from_file_location("connect_plugin_probe", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    spec.loader.exec_module(module)
    assert module.NODE_CLASS_MAPPINGS == {}
    assert (ROOT / module.WEB_DIRECTORY).is_dir()
    assert not {name for name in set(sys.modules) - before if name.startswith("connect_plugin_probe")}  # setup() not reached
