import base64
import json
from pathlib import Path

import pytest

from connect.http.jobs import server_timing
from connect.io.render import encode_base64_json


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param({}, id="no-outputs"),
        pytest.param({"output": []}, id="empty-list"),
        pytest.param({"output": [b"\x89PNG\r\n\x1a\n" + bytes(range(256))]}, id="one-file"),
        pytest.param({"a": [b"1", b""], "b-2": [b"\xff" * 1000], 'é "q"': [b"x"]}, id="several-names-and-files"),
    ],
)
def test_encoded_outputs_are_exactly_what_json_dumps_would_write(tmp_path: Path, layout: dict[str, list[bytes]]) -> None:
    paths: dict[str, list[Path]] = {}
    for n, (name, contents) in enumerate(layout.items()):
        paths[name] = []
        for m, content in enumerate(contents):
            path = tmp_path / f"{n}-{m}.bin"
            path.write_bytes(content)
            paths[name].append(path)
    expected = json.dumps({name: [base64.b64encode(c).decode() for c in contents] for name, contents in layout.items()}).encode()
    assert encode_base64_json(paths) == expected


def test_server_timing_splits_the_call_into_the_plugin_share_and_comfyui_share() -> None:
    # 5 ms in the handler, of which 3 ms waiting for ComfyUI: the plugin's own share is 2 ms.
    assert server_timing(0.005, 0.003) == "connect;dur=2.00, comfyui;dur=3.00"
