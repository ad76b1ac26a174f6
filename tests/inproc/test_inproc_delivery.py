"""Delivery modes on the fake engine's real PNG files: base64, url, raw, detailed; and the files left after."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.inproc import Plugin, b64_pixel, canvas, pixel, run

URL_MEDIA = "application/vnd.comfyui-connect.url+json"
DETAILED_MEDIA = "application/vnd.comfyui-connect.detailed+json"


def outputs_left(plugin: Plugin) -> list[str]:
    return sorted(p.name for p in (plugin.engine.root / "output").iterdir())


def test_base64_is_the_default_and_the_files_go_after_delivery(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("pair", canvas(color=0xFF0000, batch=2))
        response = await plugin.run("pair")
        assert response.status == 200 and response.content_type == "application/json"
        assert [b64_pixel(item) for item in (await response.json())["out"]] == [(255, 0, 0), (255, 0, 0)]
        assert outputs_left(plugin) == []

    run(tmp_path, scenario)


def test_keep_outputs_leaves_the_files(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("kept", canvas())
        assert (await plugin.run("kept")).status == 200
        assert len(outputs_left(plugin)) == 1

    run(tmp_path, scenario, keep_outputs=True)


@pytest.mark.parametrize(
    ("params", "headers", "media"),
    [
        pytest.param({"output": "url"}, {}, URL_MEDIA, id="query-url"),
        pytest.param({}, {"Accept": URL_MEDIA}, URL_MEDIA, id="accept-url"),
        pytest.param({"output": "detailed"}, {}, DETAILED_MEDIA, id="query-detailed"),
        pytest.param({"output": "base64"}, {"Accept": "image/png"}, "application/json", id="query-wins-over-accept"),
    ],
)
def test_json_modes(tmp_path: Path, params: dict[str, str], headers: dict[str, str], media: str) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("one", canvas(color=0x00FF00))
        response = await plugin.run("one", params=params, headers=headers)
        assert response.status == 200 and response.content_type == media, await response.text()
        (item,) = (await response.json())["out"]
        if media == URL_MEDIA:
            download = await plugin.client.get(urlsplit(item).path)
            assert download.status == 200 and download.content_type == "image/png"
            data = await download.read()
        elif media == DETAILED_MEDIA:
            assert (item["type"], item["mime_type"], item["width"], item["height"]) == ("file", "image/png", 8, 8)
            data = base64.b64decode(item["content"])
        else:
            data = base64.b64decode(item)
        assert pixel(data) == (0, 255, 0)

    run(tmp_path, scenario)


def test_raw_answers_the_one_file_and_refuses_two(tmp_path: Path) -> None:
    async def scenario(plugin: Plugin) -> None:
        await plugin.save("one", canvas(color=0x0000FF))
        await plugin.save("two", canvas(batch=2))
        response = await plugin.run("one", headers={"Accept": "image/png"})
        assert response.status == 200 and response.content_type == "image/png"
        assert pixel(await response.read()) == (0, 0, 255)
        refused = await plugin.run("two", params={"output": "raw"})
        assert refused.status == 406 and (await refused.json())["error"]["type"] == "not_acceptable"

    run(tmp_path, scenario)
