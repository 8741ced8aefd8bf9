"""Named points of a space: its centre, each param's extremes and levels.

Shared by the strategies that place trials deliberately (extremes+tpe, ofat)
rather than by sampling.
"""

from __future__ import annotations

import math
from typing import Any

from kttui.space import SearchSpace, snap
from kttui.spec import BoolParam, CategoricalParam, FloatParam, IntParam


def _numeric_mid(p: FloatParam | IntParam) -> float:
    if p.log:
        return math.exp((math.log(p.low) + math.log(p.high)) / 2)
    return (p.low + p.high) / 2


def middle(space: SearchSpace, name: str) -> Any:
    p = space.params[name]
    if isinstance(p, BoolParam):
        return True
    if isinstance(p, CategoricalParam):
        return p.choices[(len(p.choices) - 1) // 2]
    mid = _numeric_mid(p)
    if isinstance(p, IntParam):
        return p.low + round((round(mid) - p.low) / p.step) * p.step
    if p.step is not None:
        return snap(mid, p.low, p.step)
    return float(f"{mid:.6g}")


def center(space: SearchSpace, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``base`` where given, the middle of every other param."""
    given = base or {}
    return {n: given[n] if n in given else middle(space, n) for n in space.params}


def extremes(space: SearchSpace, name: str) -> list[Any]:
    """The values that bound a param: min and max, or every choice of a categorical."""
    p = space.params[name]
    if isinstance(p, BoolParam):
        return [False, True]
    if isinstance(p, CategoricalParam):
        return list(p.choices)
    if isinstance(p, IntParam):
        top = p.low + ((p.high - p.low) // p.step) * p.step
        return [p.low, top]
    return [p.low, p.high]


def levels(space: SearchSpace, name: str, limit: int = 7) -> list[Any]:
    """Values to step a param through: all of a small finite range, else low/mid/high."""
    count = space.count(name)
    values = space.values(name) if count is not None and count <= limit else None
    if values is not None:
        return values
    bounds = extremes(space, name)
    return [bounds[0], middle(space, name), bounds[-1]]
