from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT_INIT = Path(__file__).resolve().parent.parent / "__init__.py"


def test_plugin_entry_imports_as_a_bare_module() -> None:
    # What pytest does when the checkout's folder is not a valid package name ("ComfyUI-Connect").
    spec = importlib.util.spec_from_file_location("__init__", ROOT_INIT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.NODE_CLASS_MAPPINGS == {}
    assert module.WEB_DIRECTORY == "./web/js"
