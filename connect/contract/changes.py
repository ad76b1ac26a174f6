"""What a new version of an endpoint changes for its callers: its contract compared with the previous one.

    changes = compare(old_endpoint, new_endpoint, specs)
    changes.breaking    -> ["sampler.steps removed", "sampler.cfg: maximum lowered from 100 to 30"]
    changes.compatible  -> ["sampler.denoise added", "output preview added"]

Both contracts are built now, from the same node definitions (schema.py), so a combo's choices differ
only where the node class behind the input changed. Breaking: what a call that worked may now be
refused for or answered without: an input group or input removed (a rename is one removed and one
added; a group whose nodes stay the same under another name is called renamed), a type changed to
one that does not hold the old values, choices removed, a range narrowed, a new step, files no longer
accepted, an output removed. Compatible: anything added or widened, and a changed saved value (what a
call that leaves the input out gets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..workflow.endpoint import Endpoint
from .schema import GroupContract, InputContract, SpecLookup, build_contract

# JSON Schema types that hold every value of another: an integer is a number.
_WIDER = {("integer", "number")}
_LIST_LIMIT = 5  # choices named in one message


@dataclass(frozen=True)
class Change:
    path: str  # "sampler.steps", "sampler", "output preview"
    kind: str  # removed, added, renamed, type, enum, minimum, maximum, step, file, default
    breaking: bool
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "breaking": self.breaking, "text": self.text}


@dataclass(frozen=True)
class Changes:
    items: tuple[Change, ...] = field(default=())

    @property
    def breaking(self) -> list[str]:
        return [c.text for c in self.items if c.breaking]

    @property
    def compatible(self) -> list[str]:
        return [c.text for c in self.items if not c.breaking]

    def as_dict(self) -> dict[str, Any]:
        return {"breaking": self.breaking, "compatible": self.compatible, "items": [c.as_dict() for c in self.items]}


def compare(old: Endpoint, new: Endpoint, specs: SpecLookup) -> Changes:
    before, after = build_contract(old, specs).groups, build_contract(new, specs).groups
    items = [*_groups(before, after), *_outputs(old.outputs, new.outputs)]
    return Changes(tuple(items))


def _groups(before: Mapping[str, GroupContract], after: Mapping[str, GroupContract]) -> Iterator[Change]:
    gone = [name for name in before if name not in after]
    new = [name for name in after if name not in before]
    for name in gone:
        # The same nodes (ids and classes) under another `$` name: the caller's key changed, nothing else did.
        twin = next((n for n in new if _same_nodes(before[name], after[n])), None)
        if twin is not None:
            new.remove(twin)
            yield Change(name, "renamed", True, f"{name} renamed to {twin}")
        else:
            yield Change(name, "removed", True, f"{name} removed")
    for name in new:
        yield Change(name, "added", False, f"{name} added")
    for name in before:
        if name in after:
            yield from _inputs(name, before[name].inputs, after[name].inputs)


def _same_nodes(old: GroupContract, new: GroupContract) -> bool:
    return old.node_ids == new.node_ids and old.class_types == new.class_types


def _inputs(group: str, before: Mapping[str, InputContract], after: Mapping[str, InputContract]) -> Iterator[Change]:
    for name, old in before.items():
        path = f"{group}.{name}"
        if name not in after:
            yield Change(path, "removed", True, f"{path} removed")
        else:
            yield from _input(path, old, after[name])
    for name in after:
        if name not in before:
            path = f"{group}.{name}"
            yield Change(path, "added", False, f"{path} added")


def _input(path: str, old: InputContract, new: InputContract) -> Iterator[Change]:
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        held = all(t in new_types or any((t, w) in _WIDER for w in new_types) for t in old_types) if old_types else not new_types
        yield Change(path, "type", not held, f"{path}: type changed from {_show_types(old_types)} to {_show_types(new_types)}")
    yield from _enum(path, old.enum, new.enum)
    yield from _bound(path, "minimum", old.minimum, new.minimum, lambda a, b: b > a)
    yield from _bound(path, "maximum", old.maximum, new.maximum, lambda a, b: b < a)
    if old.multiple_of != new.multiple_of:
        narrowed = new.multiple_of is not None and (old.multiple_of is None or old.multiple_of % new.multiple_of != 0)
        yield Change(path, "step", narrowed, f"{path}: step changed from {old.multiple_of or 'none'} to {new.multiple_of or 'none'}")
    if old.file != new.file:
        yield Change(path, "file", old.file, f"{path}: {'no longer takes' if old.file else 'now takes'} a file sent with the call")
    if old.default != new.default or type(old.default) is not type(new.default):
        text = f"{path}: saved value changed from {_show(old.default)} to {_show(new.default)}"
        yield Change(path, "default", False, text)


def _enum(path: str, old: tuple[Any, ...] | None, new: tuple[Any, ...] | None) -> Iterator[Change]:
    if old == new:
        return
    if new is None:  # any value of the type now
        yield Change(path, "enum", False, f"{path}: no longer limited to a list of choices")
        return
    if old is None:
        yield Change(path, "enum", True, f"{path}: now limited to {len(new)} choices")
        return
    removed = [c for c in old if c not in new]
    added = [c for c in new if c not in old]
    if removed:
        yield Change(path, "enum", True, f"{path}: choices removed: {_listing(removed)}")
    if added:
        yield Change(path, "enum", False, f"{path}: choices added: {_listing(added)}")


def _bound(path: str, kind: str, old: float | None, new: float | None, narrower: Callable[[float, float], bool]) -> Iterator[Change]:
    if old == new:
        return
    if new is None:
        yield Change(path, kind, False, f"{path}: {kind} {_show(old)} removed")
    elif old is None:
        yield Change(path, kind, True, f"{path}: {kind} {_show(new)} added")
    else:
        verb = "raised" if new > old else "lowered"
        yield Change(path, kind, narrower(old, new), f"{path}: {kind} {verb} from {_show(old)} to {_show(new)}")


def _types(contract: InputContract) -> tuple[str, ...]:
    if contract.type is None:
        return ()
    return (contract.type,) if isinstance(contract.type, str) else tuple(sorted(contract.type))


def _show_types(types: tuple[str, ...]) -> str:
    return " or ".join(types) if types else "any"


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _listing(values: list[Any]) -> str:
    shown = ", ".join(_show(v) for v in values[:_LIST_LIMIT])
    return shown + (f" and {len(values) - _LIST_LIMIT} more" if len(values) > _LIST_LIMIT else "")


def _outputs(old: Mapping[str, tuple[str, ...]], new: Mapping[str, tuple[str, ...]]) -> Iterator[Change]:
    for name in old:
        if name not in new:
            yield Change(f"#{name}", "removed", True, f"output {name} removed")
    for name in new:
        if name not in old:
            yield Change(f"#{name}", "added", False, f"output {name} added")
