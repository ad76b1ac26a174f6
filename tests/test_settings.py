from __future__ import annotations

from pathlib import Path

import pytest

from connect.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(field: str) -> None:
    assert f"`CONNECT_{field.upper()}`" in README


def test_settings_come_from_connect_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_RUN_TIMEOUT", "12.5")
    monkeypatch.setenv("CONNECT_ALLOW_PRIVATE_URLS", "1")
    settings = Settings()
    assert settings.run_timeout == 12.5
    assert settings.allow_private_urls is True


def test_a_bad_setting_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_RUN_TIMEOUT", "-1")
    with pytest.raises(ValueError, match="run_timeout"):
        Settings()
