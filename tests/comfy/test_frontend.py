"""comfy/frontend.py: the served frontend's version and its English names of node classes."""

from __future__ import annotations

from importlib import metadata, util
from pathlib import Path

from connect.comfy.frontend import read_frontend


def test_the_installed_frontend_is_read_from_its_own_files() -> None:
    found = util.find_spec("comfyui_frontend_package")
    assert found is not None and found.origin is not None, "the frontend package is installed with ComfyUI's requirements"
    static = Path(found.origin).parent / "static"
    frontend = read_frontend(static)
    assert frontend.version == metadata.version("comfyui-frontend-package")
    assert frontend.display_names["CheckpointLoaderSimple"] == "Load Checkpoint"
    assert len(frontend.display_names) > 300


def bundle(root: Path, files: dict[str, str]) -> Path:
    (root / "assets").mkdir(parents=True)
    for name, text in files.items():
        (root / "assets" / name).write_text(text)
    return root


def test_names_come_from_the_english_bundle_in_either_shape(tmp_path: Path) -> None:
    french = 'var a={display_name:"Charger un checkpoint"};export{CheckpointLoaderSimple:a}'
    # Newer bundles: variables, then one object naming each class; older: a variable per class.
    english = 'var e={display_name:`Load Checkpoint`},t={display_name:"Say \\"hi\\""};const m={CheckpointLoaderSimple:e,Hello:t};'
    older = 'frontendVersion="1.2.3";const KSampler={display_name:"KSampler"}'
    root = bundle(tmp_path / "web" / "v1.2.3", {"fr.js": french, "index-x.js": older, "nodeDefs-en.js": english})
    frontend = read_frontend(root)
    assert frontend.display_names == {"CheckpointLoaderSimple": "Load Checkpoint", "Hello": 'Say "hi"'}
    assert frontend.version == "1.2.3"  # ComfyUI's downloaded frontends sit in a folder named after it


def test_a_frontend_it_cannot_read_gives_no_version_and_no_names(tmp_path: Path) -> None:
    frontend = read_frontend(bundle(tmp_path / "web", {"index-x.js": "console.log(1)"}))
    assert frontend.version == "" and frontend.display_names == {}
