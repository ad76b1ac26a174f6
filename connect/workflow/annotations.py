"""Parse the `$`/`#`/`!` annotations a user writes into a node's title.

    >>> parse_title("KSampler $sampler(seed,steps) #preview [!cache]")
    Annotations(inputs=(InputAnnotation(name='sampler', only=('seed', 'steps')),),
                outputs=('preview',), bypass=False, cache=True)

An annotation starts at a sigil that opens a word (start of title, after white space, or inside a
`[...]` group) and runs to the next white space or `]`. Plain words are left alone, so titles such
as "Load Image [WIP]" or "C#" are not annotations. Anything that starts like an annotation but
cannot be read raises ``TitleError`` with what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
_NAME = re.compile(NAME_PATTERN)
_INPUT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")
DIRECTIVES = ("bypass", "cache")
_SIGILS = "$#!"


class TitleError(ValueError):
    pass


@dataclass(frozen=True)
class InputAnnotation:
    name: str
    # None exposes every widget input; a tuple (possibly empty) exposes only those.
    only: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Annotations:
    inputs: tuple[InputAnnotation, ...] = ()
    outputs: tuple[str, ...] = ()
    bypass: bool = False
    cache: bool = False

    @property
    def empty(self) -> bool:
        return not (self.inputs or self.outputs or self.bypass or self.cache)


@dataclass
class _Builder:
    inputs: list[InputAnnotation] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    bypass: bool = False
    cache: bool = False

    def build(self) -> Annotations:
        return Annotations(tuple(self.inputs), tuple(self.outputs), self.bypass, self.cache)


def parse_title(title: str) -> Annotations:
    found = _Builder()
    i, n = 0, len(title)
    while i < n:
        starts_word = i == 0 or title[i - 1].isspace()
        ch = title[i]
        if starts_word and ch in _SIGILS and _annotation_follows(title, i):
            i = _parse_one(title, i, found, in_group=False)
        elif starts_word and ch == "[" and i + 1 < n and title[i + 1] in _SIGILS:
            i = _parse_group(title, i + 1, found)
        else:
            i += 1
    return found.build()


def _annotation_follows(title: str, i: int) -> bool:
    # A lone sigil ("Price: $ 5", "Step #") is ordinary text.
    return i + 1 < len(title) and not title[i + 1].isspace()


def _parse_group(title: str, i: int, found: _Builder) -> int:
    while True:
        while i < len(title) and title[i].isspace():
            i += 1
        if i >= len(title):
            raise TitleError("'[' is never closed: expected ']' after the annotations")
        if title[i] == "]":
            return i + 1
        if title[i] not in _SIGILS:
            raise TitleError(f"unexpected {title[i]!r} inside '[...]': only $, # and ! annotations go there")
        i = _parse_one(title, i, found, in_group=True)


def _parse_one(title: str, i: int, found: _Builder, *, in_group: bool) -> int:
    sigil = title[i]
    match = _NAME.match(title, i + 1)
    if match is None:
        raise TitleError(f"{sigil!r} at position {i} must be followed by a name ({NAME_PATTERN})")
    name, i = match.group(), match.end()
    if sigil == "$":
        only, i = _parse_filter(title, i, name)
        found.inputs.append(InputAnnotation(name, only))
    elif sigil == "#":
        found.outputs.append(name)
    elif name in DIRECTIVES:
        setattr(found, name, True)
    else:
        raise TitleError(f"unknown directive '!{name}': expected one of " + ", ".join(f"!{d}" for d in DIRECTIVES))
    _expect_token_end(title, i, in_group)
    return i


def _parse_filter(title: str, i: int, name: str) -> tuple[tuple[str, ...] | None, int]:
    if i >= len(title) or title[i] != "(":
        return None, i
    close = title.find(")", i)
    if close < 0:
        raise TitleError(f"'${name}(' is never closed: expected ')' after the input names")
    inner = title[i + 1 : close]
    if not inner.strip():
        return (), close + 1
    names = []
    for part in inner.split(","):
        m = _INPUT.fullmatch(part)
        if m is None:
            raise TitleError(f"'${name}({inner})': {part.strip()!r} is not an input name")
        names.append(m.group(1))
    return tuple(dict.fromkeys(names)), close + 1


def _expect_token_end(title: str, i: int, in_group: bool) -> None:
    if i >= len(title) or title[i].isspace() or (in_group and title[i] == "]"):
        return
    raise TitleError(f"unexpected {title[i]!r} at position {i} right after an annotation")
