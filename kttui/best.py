"""Which trial is best: one rule for the runner, the console, ``kttui status`` and the charts.

Only a finite value counts (a NaN or an infinite objective is a broken trial, not
a record), the direction decides what "better" means, and a tie keeps the
earlier trial: the first trial to reach a value found it. Callers pass their
trials in trial order and say how to read a value; everything else (which
states count, where the value is stored) stays theirs. The analyses rank a
DataFrame with the same rule (:meth:`kttui.analysis.table.TrialFrame.ranked`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def maximizing(direction: Any) -> bool:
    """True unless ``direction`` says ``minimize`` (the spec's default is to maximize)."""
    return direction != "minimize"


def finite(value: Any) -> bool:
    """A real number that may be a best value: not a bool, None, NaN or infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_better(value: Any, than: float | None, maximize: bool) -> bool:
    """``value`` counts and beats ``than`` strictly (None: nothing to beat yet)."""
    if not finite(value):
        return False
    if than is None:
        return True
    return value > than if maximize else value < than


def best(items: Iterable[T], value: Callable[[T], Any], maximize: bool) -> T | None:
    """The item with the best finite value; on a tie the earliest; None when none counts."""
    found: T | None = None
    found_value: float | None = None
    for item in items:
        v = value(item)
        if is_better(v, found_value, maximize):
            found, found_value = item, float(v)
    return found


def ranked(items: Iterable[T], value: Callable[[T], Any], maximize: bool) -> list[T]:
    """Items with a finite value, best first; ties keep the order they came in."""
    sign = -1.0 if maximize else 1.0
    counted = [item for item in items if finite(value(item))]
    return sorted(counted, key=lambda item: sign * float(value(item)))


def running_best(values: Iterable[Any], maximize: bool) -> list[float | None]:
    """The best value so far after each value (None until a value counts)."""
    out: list[float | None] = []
    current: float | None = None
    for v in values:
        if is_better(v, current, maximize):
            current = float(v)
        out.append(current)
    return out
