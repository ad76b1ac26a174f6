from __future__ import annotations

import pytest

from connect.workflow.annotations import Annotations, InputAnnotation, TitleError, parse_title


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param("KSampler", Annotations(), id="plain"),
        pytest.param("KSampler $sampler", Annotations(inputs=(InputAnnotation("sampler"),)), id="input"),
        pytest.param("$s(seed, steps)", Annotations(inputs=(InputAnnotation("s", ("seed", "steps")),)), id="filter"),
        pytest.param("$s()", Annotations(inputs=(InputAnnotation("s", ()),)), id="empty-filter"),
        pytest.param("Save #out", Annotations(outputs=("out",)), id="output"),
        pytest.param("K $sampler #preview !bypass", Annotations((InputAnnotation("sampler"),), ("preview",), bypass=True), id="several"),
        pytest.param("Loader [!cache]", Annotations(cache=True), id="bracket"),
        pytest.param("[$a #b] x", Annotations((InputAnnotation("a"),), ("b",)), id="bracket-several"),
        pytest.param("Load Image [WIP] C#", Annotations(), id="plain-brackets-and-hash"),
        pytest.param("Price $ 5", Annotations(), id="lone-sigil"),
    ],
)
def test_parse_title(title: str, expected: Annotations) -> None:
    assert parse_title(title) == expected


@pytest.mark.parametrize(
    ("title", "match"),
    [
        pytest.param("$foo(", "never closed", id="unclosed-filter"),
        pytest.param("$foo(a,,b)", "not an input name", id="empty-filter-item"),
        pytest.param("!nope", "unknown directive", id="unknown-directive"),
        pytest.param("[!cache", "never closed", id="unclosed-bracket"),
        pytest.param("$(a)", "followed by a name", id="no-name"),
        pytest.param("$foo)x", "unexpected", id="junk-after"),
    ],
)
def test_parse_title_rejects(title: str, match: str) -> None:
    with pytest.raises(TitleError, match=match):
        parse_title(title)
