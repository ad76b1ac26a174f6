"""API keys: who may call what.

A key is configured as one line (``CONNECT_API_KEYS`` entries are separated by commas, a
``CONNECT_API_KEYS_FILE`` has one per line, ``#`` starts a comment):

    <key>                                   admin: everything, every workflow, ComfyUI's own routes
    <key> manage [<workflow> ...]           save, delete and run these workflows (all if none listed)
    <key> run [<workflow> ...]              run and read these workflows (all if none listed)

A workflow is a name (``txt2img``) or a prefix ending in ``*`` (``team/*``, ``img-*``, ``*``).
Keys are at least 16 characters without spaces or commas. They are kept only as SHA-256 digests
and compared with ``hmac.compare_digest`` against every configured key, so neither timing nor
order tells which key (or how much of one) matched.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

LEVELS = ("run", "manage", "admin")
MIN_KEY_LENGTH = 16
_KEY = re.compile(r"[\x21-\x7e]+")
_PATTERN = re.compile(r"[A-Za-z0-9_/-]*\*?")
_SESSION_MESSAGE = b"comfyui-connect session v1"


class KeyConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ApiKey:
    id: str  # a non-secret label (for logs, metrics and per-client limits)
    digest: bytes
    session: bytes  # digest of the cookie value a browser presents after logging in with this key
    level: str
    workflows: tuple[str, ...] | None  # None: every workflow

    def permits(self, level: str, workflow: str | None = None) -> bool:
        if LEVELS.index(self.level) < LEVELS.index(level):
            return False
        return workflow is None or self.sees(workflow)

    def sees(self, workflow: str) -> bool:
        if self.workflows is None:
            return True
        return any(workflow.startswith(p[:-1]) if p.endswith("*") else workflow == p for p in self.workflows)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def session_token(secret: str) -> str:
    """The cookie value for a key: derived from it, so the key itself never sits in a cookie."""
    return hmac.new(secret.encode(), _SESSION_MESSAGE, hashlib.sha256).hexdigest()


def parse_key(line: str, where: str) -> ApiKey:
    secret, *rest = line.split()
    if len(secret) < MIN_KEY_LENGTH or not _KEY.fullmatch(secret) or "," in secret:
        raise KeyConfigError(f"{where}: a key must be at least {MIN_KEY_LENGTH} printable characters without spaces or commas")
    level, patterns = ("admin", []) if not rest else (rest[0], rest[1:])
    if level not in LEVELS:
        raise KeyConfigError(f"{where}: after the key comes its access, one of {', '.join(LEVELS)}; not {level!r}")
    bad = [p for p in patterns if not _PATTERN.fullmatch(p) or not p]
    if bad:
        raise KeyConfigError(f"{where}: {bad[0]!r} is not a workflow name or a prefix ending in '*'")
    if level == "admin" and patterns:
        raise KeyConfigError(f"{where}: an admin key reaches every workflow; give it no workflow list or use 'manage'")
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:8]
    return ApiKey(f"key-{fingerprint}", _digest(secret), _digest(session_token(secret)), level, tuple(patterns) or None)


class KeyRing:
    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self.keys = tuple(keys)
        digests = [k.digest for k in self.keys]
        if len(set(digests)) != len(digests):
            raise KeyConfigError("the same API key is configured twice")

    @classmethod
    def load(cls, env_value: str, file: Path | None) -> KeyRing:
        keys = [parse_key(entry, f"CONNECT_API_KEYS entry {i + 1}") for i, entry in enumerate(env_value.split(",")) if entry.strip()]
        if file is not None:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise KeyConfigError(f"CONNECT_API_KEYS_FILE {str(file)!r} cannot be read: {exc.strerror}") from exc
            for number, raw in enumerate(text.splitlines(), 1):
                line = re.sub(r"(^|\s)#.*", "", raw).strip()
                if line:
                    keys.append(parse_key(line, f"{file.name} line {number}"))
            if not keys:
                raise KeyConfigError(f"CONNECT_API_KEYS_FILE {str(file)!r} holds no key")
        return cls(keys)

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def match(self, secret: str) -> ApiKey | None:
        return self._find(_digest(secret), "digest")

    def match_session(self, token: str) -> ApiKey | None:
        return self._find(_digest(token), "session")

    def _find(self, digest: bytes, field: str) -> ApiKey | None:
        found = None
        for key in self.keys:  # no early exit: every key is compared
            if hmac.compare_digest(digest, getattr(key, field)):
                found = key
        return found
