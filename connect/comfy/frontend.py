"""The frontend ComfyUI serves: its version and its own English names of node classes.

The server converts a UI-format workflow as this frontend would (workflow/convert.py), and two
things it needs are only in the frontend's files: its version (what it writes differs between
versions) and the names it gives node classes, which title a node saved without a title. Both are
read from the folder ComfyUI serves (its web root), once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

_VERSION = re.compile(r"(\d+\.\d+\.\d+)")
_BUNDLED_VERSION = re.compile(r"frontendVersion\s*=\s*[\"'`](\d+\.\d+\.\d+)")
# The English node definitions are bundled as JS objects: `x={display_name:"..."` ...,
# then gathered in one object `{ClassName:x,...}` (older bundles name the object after the class).
_STRING = r'(?:`([^`\\]*)`|"((?:[^"\\]|\\.)*)")'
_NAMED = re.compile(r"([\w$]+)=\{display_name:" + _STRING)
_PAIR = re.compile(r"[{,]([A-Za-z_]\w*):([\w$]+)(?=[,}])")
# How the English bundle is told from the other languages' (a name every frontend has translated).
_ENGLISH = ("CheckpointLoaderSimple", "Load Checkpoint")


@dataclass(frozen=True)
class Frontend:
    version: str  # "" when it could not be told
    display_names: dict[str, str] = field(default_factory=dict)


def read_frontend(web_root: Path) -> Frontend:
    return Frontend(_version(web_root), _display_names(web_root / "assets"))


def _version(web_root: Path) -> str:
    # A pip-installed frontend: the package's metadata sits beside it.
    for info in sorted(web_root.parent.parent.glob("comfyui_frontend_package-*.dist-info")):
        if found := _VERSION.search(info.name):
            return found[1]
    # ComfyUI's downloaded frontends live in a folder named after their version.
    for part in reversed(web_root.parts):
        if re.fullmatch(r"v?\d+\.\d+\.\d+", part):
            return part.lstrip("v")
    for script in sorted((web_root / "assets").glob("index-*.js")):
        if found := _BUNDLED_VERSION.search(script.read_text(errors="replace")):
            return found[1]
    if web_root.name == "static" and web_root.parent.name == "comfyui_frontend_package":
        try:
            return metadata.version("comfyui-frontend-package")
        except metadata.PackageNotFoundError:
            pass
    return ""


def _display_names(assets: Path) -> dict[str, str]:
    for script in sorted(assets.glob("*.js")):
        text = script.read_text(errors="replace")
        if "display_name:" not in text:
            continue
        names = _names_in(text)
        if names.get(_ENGLISH[0]) == _ENGLISH[1]:
            return names
    return {}


def _names_in(text: str) -> dict[str, str]:
    by_variable: dict[str, str] = {}
    for match in _NAMED.finditer(text):
        by_variable[match[1]] = match[2] if match[2] is not None else _unquote(match[3])
    gathered = {cls: by_variable[var] for cls, var in _PAIR.findall(text) if var in by_variable}
    # Older bundles name each object after its class and gather none (or next to none) of them.
    return gathered if len(gathered) * 2 >= len(by_variable) else {**by_variable, **gathered}


def _unquote(text: str) -> str:
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text
