"""Dynamic prompts, as the frontend sends a text widget that allows them (`dynamicPrompts` in its definition).

Comments (`// ...`, `/* ... */`) are removed; each `{a|b|c}` becomes one of its choices, picked at
random each time (nested blocks too); `\\{`, `\\|`, `\\}` stay as the characters.
"""

from __future__ import annotations

import random
import re

_COMMENTS = re.compile(r"/\*[\s\S]*?\*/|//.*")
_ESCAPED = re.compile(r"\\([{}|])")


def expand(text: str, rng: random.Random | None = None) -> str:
    return _Reader(_COMMENTS.sub("", text), rng or random.Random()).text()


class _Reader:
    def __init__(self, text: str, rng: random.Random) -> None:
        self.source, self.at, self.rng = text, 0, rng

    def text(self) -> str:
        out = ""
        while self.at < len(self.source):
            char = self._next()
            out += self._escape() if char == "\\" else self._choice() if char == "{" else char
        return _ESCAPED.sub(r"\1", out)

    def _next(self) -> str:
        char = self.source[self.at]
        self.at += 1
        return char

    def _escape(self) -> str:
        # The frontend keeps the backslash with the next character (and writes "undefined" past the end).
        return "\\" + (self._next() if self.at < len(self.source) else "undefined")

    def _choice(self) -> str:
        choices, current, depth = [], "", 0
        while self.at < len(self.source):
            char = self._next()
            if char == "\\":
                current += self._escape()
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                if not depth:
                    break
                depth -= 1
            elif char == "|" and not depth:
                choices.append(current)
                current = ""
                continue
            current += char
        choices.append(current)
        return expand(self.rng.choice(choices), self.rng)
