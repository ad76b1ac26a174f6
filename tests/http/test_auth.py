from __future__ import annotations

from pathlib import Path

import pytest

from connect.http.auth import KeyConfigError, KeyRing, parse_key, session_token

ADMIN = "admin-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("line", "level", "workflows"),
    [
        pytest.param(ADMIN, "admin", None, id="bare-key-is-admin"),
        pytest.param(f"{ADMIN} manage", "manage", None, id="manage-all"),
        pytest.param(f"{ADMIN} run txt2img team/*", "run", ("txt2img", "team/*"), id="run-some"),
        pytest.param(f"  {ADMIN}\tmanage   *  ", "manage", ("*",), id="whitespace"),
    ],
)
def test_parse_key(line: str, level: str, workflows: tuple[str, ...] | None) -> None:
    key = parse_key(line, "test")
    assert (key.level, key.workflows) == (level, workflows)
    assert key.id.startswith("key-") and ADMIN not in key.id


@pytest.mark.parametrize(
    ("line", "match"),
    [
        pytest.param("short", "at least 16", id="too-short"),
        pytest.param(f"{ADMIN} runner", "one of run, manage, admin", id="unknown-access"),
        pytest.param(f"{ADMIN} txt2img", "one of run, manage, admin", id="workflow-without-access"),
        pytest.param(f"{ADMIN} admin txt2img", "admin key reaches every workflow", id="admin-with-list"),
        pytest.param(f"{ADMIN} run ../x", "not a workflow name", id="bad-pattern"),
        pytest.param(f"{ADMIN} run a*b", "not a workflow name", id="star-inside"),
    ],
)
def test_parse_key_rejects(line: str, match: str) -> None:
    with pytest.raises(KeyConfigError, match=match):
        parse_key(line, "test")


@pytest.mark.parametrize(
    ("workflows", "name", "allowed"),
    [
        pytest.param(("txt2img",), "txt2img", True, id="exact"),
        pytest.param(("txt2img",), "txt2img-2", False, id="exact-is-not-prefix"),
        pytest.param(("team/*",), "team/a/b", True, id="folder-prefix"),
        pytest.param(("team/*",), "teammate", False, id="folder-prefix-needs-slash"),
        pytest.param(("img-*",), "img-up", True, id="name-prefix"),
        pytest.param(("*",), "anything", True, id="star"),
    ],
)
def test_workflow_scope(workflows: tuple[str, ...], name: str, allowed: bool) -> None:
    key = parse_key(f"{ADMIN} run {' '.join(workflows)}", "test")
    assert key.sees(name) is allowed
    assert key.permits("run", name) is allowed


def test_levels_are_ordered() -> None:
    run, manage, admin = (parse_key(f"{ADMIN}{i} {level}", "t") for i, level in enumerate(("run", "manage", "admin")))
    assert run.permits("run") and not run.permits("manage") and not run.permits("admin")
    assert manage.permits("manage") and not manage.permits("admin")
    assert admin.permits("admin")


def test_keyring_matches_only_exact_keys_and_sessions(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# comment\n\nfile-key-0123456789abcdef run a  # trailing comment\n")
    ring = KeyRing.load(f"{ADMIN}, other-key-0123456789abcdef manage", keys_file)
    assert [k.level for k in ring.keys] == ["admin", "manage", "run"]
    assert ring.match(ADMIN) is ring.keys[0]
    assert ring.match("file-key-0123456789abcdef") is ring.keys[2]
    for wrong in (ADMIN[:-1], ADMIN + "x", "", ADMIN.upper()):
        assert ring.match(wrong) is None
    assert ring.match_session(session_token(ADMIN)) is ring.keys[0]
    assert ring.match_session(ADMIN) is None  # the key itself is not a session value


def test_keyring_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="configured twice"):
        KeyRing.load(f"{ADMIN}, {ADMIN} run", None)
    with pytest.raises(KeyConfigError, match="cannot be read"):
        KeyRing.load("", tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(KeyConfigError, match="holds no key"):
        KeyRing.load("", empty)
    with pytest.raises(KeyConfigError, match=r"empty\.txt line 2"):
        empty.write_text("# a\nshort\n")
        KeyRing.load("", empty)
    assert not KeyRing.load("", None).enabled
