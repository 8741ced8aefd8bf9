"""Validate what can be validated: semantic checks even when some fields are invalid.

A user fixing a spec wants every problem at once, not the schema errors first
and the cross-field ones (unknown placeholders, bad expressions, ranges) only
after a second round. When pydantic rejects some fields, the offending values
are set aside from a copy of the data and the rest is validated again, so the
semantic checks can run on everything that is valid. Semantic problems about
the set-aside values are dropped: the schema error already names them.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from kttui.spec import Spec

Loc = tuple[str | int, ...]
#: A stand-in for an invalid param, so its name stays known to placeholders and expressions.
_DUMMY_PARAM = {"type": "float", "low": 0.0, "high": 1.0}
#: Stand-ins for required top-level fields, so the rest of the spec can still be checked.
_REQUIRED = {"name": "spec", "objective": {"metric": "_"}, "command": ["_"]}
_ROUNDS = 6


def validate_partially(
    data: dict[str, Any], first: ValidationError
) -> tuple[Spec | None, list[Loc]]:
    """A spec built from the valid part of ``data`` and the locations set aside.

    ``None`` when no valid remainder was found in a few rounds (then only the
    schema errors are reported, as before).
    """
    work = copy.deepcopy(data)
    pruned: list[Loc] = []
    error = first
    for _ in range(_ROUNDS):
        changed = False
        for err in error.errors(include_url=False):
            cut = _set_aside(work, tuple(err["loc"]))
            if cut is not None:
                pruned.append(cut)
                changed = True
        if not changed:
            return None, pruned
        try:
            return Spec.model_validate(work), pruned
        except ValidationError as exc:
            error = exc
        except (RecursionError, MemoryError):
            return None, pruned
    return None, pruned


def overlaps(loc: Loc, message: str, pruned: list[Loc]) -> bool:
    """Whether a semantic issue is about a value that was set aside: at or around its
    location, or naming it (``sampler 'tpe' needs `n_trials``` once n_trials was removed)."""
    return any(
        loc[: len(p)] == p or p[: len(loc)] == loc or f"`{p[-1]}`" in message for p in pruned
    )


def _set_aside(work: dict[str, Any], loc: Loc) -> Loc | None:
    """Remove (or stand in for) the value at ``loc``; return the location removed."""
    if len(loc) >= 2 and loc[0] == "space" and isinstance(work.get("space"), dict):
        if loc[1] in work["space"] and work["space"][loc[1]] != _DUMMY_PARAM:
            work["space"][loc[1]] = dict(_DUMMY_PARAM)
            return loc[:2]
        return None
    node: Any = work
    path: list[str | int] = []
    for part in loc:
        if isinstance(node, dict) and part in node:
            if isinstance(node[part], list):  # removing an item would renumber the rest
                path.append(part)
                break
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and node.get("type") == part:
            continue
        else:
            break
    if not path:
        return None
    target = tuple(path)
    parent: Any = work
    for part in target[:-1]:
        parent = parent[part]
    key = target[-1]
    if len(target) == 1 and key in _REQUIRED:
        if parent[key] == _REQUIRED[key]:
            return None
        parent[key] = copy.deepcopy(_REQUIRED[key])
        return target
    if len(target) == 1 and key == "space":
        return None
    del parent[key]
    return target
