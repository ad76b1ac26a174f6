from __future__ import annotations

import json
from pathlib import Path

import pytest

from connect.io.links import FileLinks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def source(tmp_path: Path, data: bytes = b"payload") -> Path:
    path = tmp_path / "output" / "x_00001_.png"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def test_publish_moves_and_lookup_finds(tmp_path: Path, clock: Clock) -> None:
    links = FileLinks(tmp_path / "links", 60, clock)
    original = source(tmp_path)
    token = links.publish(original, "x_00001_.png", "image/png", move=True)
    assert not original.exists()
    link = links.lookup(token, "x_00001_.png")
    assert link is not None and link.path.read_bytes() == b"payload" and link.mime_type == "image/png"
    assert link.expires == 1060.0
    assert len(token) >= 43  # 32 random bytes


def test_copy_keeps_the_original(tmp_path: Path, clock: Clock) -> None:
    links = FileLinks(tmp_path / "links", 60, clock)
    original = source(tmp_path)
    token = links.publish(original, "x.png", "image/png", move=False)
    assert original.read_bytes() == b"payload"
    link = links.lookup(token, "x.png")
    assert link is not None and link.path != original


@pytest.mark.parametrize(("token_change", "name"), [("", "other.png"), ("x", "x.png"), ("", "X.png")])
def test_lookup_needs_the_exact_token_and_name(tmp_path: Path, clock: Clock, token_change: str, name: str) -> None:
    links = FileLinks(tmp_path / "links", 60, clock)
    token = links.publish(source(tmp_path), "x.png", "image/png", move=True)
    assert links.lookup(token + token_change, name) is None


def test_expired_links_answer_none_and_sweep_deletes_them(tmp_path: Path, clock: Clock) -> None:
    links = FileLinks(tmp_path / "links", 60, clock)
    old = links.publish(source(tmp_path, b"old"), "a.png", "image/png", move=True)
    clock.now += 30
    new = links.publish(source(tmp_path, b"new"), "a.png", "image/png", move=True)
    clock.now += 31
    assert links.lookup(old, "a.png") is None
    assert links.lookup(new, "a.png") is not None
    assert links.sweep() == 1
    assert len(links) == 1 and len(list((tmp_path / "links").iterdir())) == 1
    clock.now += 60
    assert links.sweep() == 1 and not list((tmp_path / "links").iterdir())


def test_folders_are_named_by_the_token_hash(tmp_path: Path, clock: Clock) -> None:
    links = FileLinks(tmp_path / "links", 60, clock)
    token = links.publish(source(tmp_path), "a.png", "image/png", move=True)
    [folder] = (tmp_path / "links").iterdir()
    assert token not in folder.name and len(folder.name) == 40
    assert json.loads((folder / "link.json").read_text()) == {"name": "a.png", "mime_type": "image/png", "expires": 1060.0}


def test_links_survive_a_restart_and_expired_or_broken_ones_are_removed(tmp_path: Path, clock: Clock) -> None:
    root = tmp_path / "links"
    first = FileLinks(root, 60, clock)
    alive = first.publish(source(tmp_path, b"alive"), "a.png", "image/png", move=True)
    clock.now -= 100
    first.publish(source(tmp_path, b"dead"), "b.png", "image/png", move=True)  # expired at 960
    clock.now += 100
    (root / "half-written").mkdir()
    (root / "half-written" / "c.png").write_bytes(b"no link.json")
    (root / "escape").mkdir()
    (root / "escape" / "link.json").write_text(json.dumps({"name": "../a.png", "mime_type": "x", "expires": 9e9}))
    second = FileLinks(root, 60, clock)
    assert second.load() == 3
    link = second.lookup(alive, "a.png")
    assert link is not None and link.path.read_bytes() == b"alive"
    assert len(list(root.iterdir())) == 1


def test_load_without_a_folder(tmp_path: Path, clock: Clock) -> None:
    assert FileLinks(tmp_path / "missing", 60, clock).load() == 0
