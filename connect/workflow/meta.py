"""The `_meta` a frontend writes for a node: its title, and (newer frontends) the node pack it comes from.

Newer frontends add the `cnr_id`, `aux_id` and `ver` a node's properties carry, each only when
it is well-formed by the frontend's own rules (a registry id, `github-user/repo`, a semantic version
or commit hash with any leading "v" dropped, or "unknown").
"""

from __future__ import annotations

import re
from typing import Any

Version = tuple[int, ...]
# What changed between the frontends checked (1.32.9, 1.49.6, 1.58.1): the first checked to do it.
PACKAGE_META_SINCE: Version = (1, 58, 0)  # `_meta` carries the node pack (not in 1.49.6)
UNIQUE_IDS_SINCE: Version = (1, 49, 0)  # subgraph node ids made unique on load (not in 1.32.9)
LATEST_CHECKED: Version = (1, 58, 1)  # converting for a frontend whose version cannot be told
SKIP_MUTED_INSTANCES_SINCE: Version = (1, 49, 0)  # a muted/bypassed subgraph node's insides not sent (not in 1.32.9)
CURVES_MARKED_SINCE: Version = (1, 49, 0)  # a CURVE widget's list value sent as {"__type__": "CURVE", ...}
CURVES_ALWAYS_MARKED_SINCE: Version = (1, 58, 0)  # ... and any value of it (not only a list)
COMFY_TITLES_SINCE: Version = (1, 58, 0)  # an untitled node: ComfyUI's display name before the frontend's

_ID = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9._-]*[a-zA-Z0-9])?$")
_GITHUB_OWNER = re.compile(r"^(?!-)(?!.*--)[a-zA-Z0-9-]+(?<!-)$")
_COMMIT = re.compile(r"^[0-9a-f]{4,40}$", re.IGNORECASE)
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([\da-z-]+(?:\.[\da-z-]+)*))?(?:\+([\da-z-]+(?:\.[\da-z-]+)*))?$")


def parse_version(text: str) -> Version:
    found = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    if found is None:
        raise ValueError(f"not a frontend version: {text!r}")
    return tuple(int(part) for part in found.groups())


def curves_marked(frontend: Version) -> str:
    """How this frontend marks CURVE values (widgets.widget_values' `typed_curves`)."""
    if frontend >= CURVES_ALWAYS_MARKED_SINCE:
        return "any"
    return "list" if frontend >= CURVES_MARKED_SINCE else ""


def node_meta(title: str, properties: dict[str, Any], frontend: Version) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": title}
    if frontend < PACKAGE_META_SINCE:
        return meta
    if (cnr_id := _pack_id(properties.get("cnr_id"))) is not None:
        meta["cnr_id"] = cnr_id
    if (aux_id := _aux_id(properties.get("aux_id"))) is not None:
        meta["aux_id"] = aux_id
    if (ver := _pack_version(properties.get("ver"))) is not None:
        meta["ver"] = ver
    return meta


def _pack_id(value: Any) -> str | None:
    ok = isinstance(value, str) and 1 <= len(value) <= 100 and _ID.match(value) and value[0] not in "_-." and value[-1] not in "_-."
    return value if ok else None


def _aux_id(value: Any) -> str | None:
    if not isinstance(value, str) or value.count("/") != 1:
        return None
    owner, repo = value.split("/")
    if 1 <= len(owner) <= 39 and _GITHUB_OWNER.match(owner) and _pack_id(repo) is not None:
        return value
    return None


def _pack_version(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    if value == "unknown":
        return value
    bare = value[1:] if value.startswith("v") else value
    return bare if _SEMVER.match(bare) or _COMMIT.match(bare) else None
