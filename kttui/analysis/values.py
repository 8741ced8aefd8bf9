"""Param values as the analyses see them: canonical keys, numeric tests, short labels.

Trial tables come from JSON, CSV and Optuna alike, so the same value may arrive
as ``256``, ``256.0`` or ``numpy.int64(256)``; every comparison of configs goes
through :func:`canonical` so that those count as one value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from kttui.safetext import is_missing, sort_key

#: Configs are compared after rounding floats to this many significant digits, so
#: that 0.1 read from CSV and 0.1 computed as 1/10 count as the same value.
SIGNIFICANT_DIGITS = 12


def is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def is_number(value: Any) -> bool:
    """True for ints and floats, false for bools (a bool is a category, not a magnitude)."""
    return isinstance(value, int | float | np.integer | np.floating) and not is_bool(value)


def canonical(value: Any) -> Any:
    """A hashable, type-normalised form of ``value`` (numbers become rounded floats)."""
    if type(value) is float:
        if value != value:
            return None
        return (
            value
            if value == 0.0 or value in (math.inf, -math.inf)
            else float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        )
    if is_missing(value):
        return None
    if is_bool(value):
        return bool(value)
    if is_number(value):
        x = float(value)
        if x == 0.0 or not math.isfinite(x):
            return x
        return float(f"{x:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, list | tuple):
        return tuple(canonical(v) for v in value)
    return value if isinstance(value, str) else str(value)


def plain(value: Any, kind: str | None = None) -> Any:
    """A builtin Python scalar (for YAML, JSON and optuna).

    ``kind="int"`` turns 256.0 back into 256: pandas stores an int column with a
    missing value as floats, and a spec must not say ``d_model: 256.0``.
    """
    if is_missing(value):
        return None
    if is_bool(value):
        return bool(value)
    if isinstance(value, int | np.integer):
        return float(value) if kind == "float" else int(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        if kind == "int" and x.is_integer():
            return int(x)
        return x
    if isinstance(value, np.generic):
        return value.item()
    return value


def format_p(p: float | None, *, decimals: int | None = None, missing: str = "n/a") -> str:
    """A p-value: two significant digits, as findings and spec comments quote it, or
    ``decimals`` fixed decimals so that a report table's column lines up.

    Below 0.001 both read 1.2e-04: fixed decimals would print 0.000.
    """
    if p is None or not math.isfinite(p):
        return missing
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.{decimals}f}" if decimals is not None else f"{p:.2g}"


def sorted_values(values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=sort_key)


def all_numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if not is_missing(v)]
    return bool(present) and all(is_number(v) for v in present)


def all_bool(values: Sequence[Any]) -> bool:
    present = [v for v in values if not is_missing(v)]
    return bool(present) and all(is_bool(v) for v in present)


def all_integral(values: Sequence[Any]) -> bool:
    present = [v for v in values if not is_missing(v)]
    return bool(present) and all(is_number(v) and float(v).is_integer() for v in present)


#: Objective values are reported to this many significant digits of their typical size ...
VALUE_DIGITS = 4
#: ... in fixed decimals while that takes at most this many (a metric near 1e-9, or
#: near 1e12, is better read as 1.234e-09 or 1.234e+12: :func:`decimals_of` says None).
MAX_DECIMALS = 8
MAX_MAGNITUDE = 6


def decimals_of(values: Iterable[float]) -> int | None:
    """How many decimals a report writes the objective with, the same for every number of it.

    Enough for :data:`VALUE_DIGITS` significant digits of the median magnitude
    (AUCs near 0.72: 4 decimals; losses near 12.3: 2), and no more than the data
    itself carries: accuracies recorded as 0.85 and 0.87 are written with 2. Effects,
    spreads and gaps use the same decimals as the values they compare, so
    "+0.0002" stands beside "0.7186", never "+0.0002375". None: the values are too
    small or too large for fixed decimals, so every number gets significant digits.
    """
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    nonzero = np.abs(finite[finite != 0])
    if not len(nonzero):
        return VALUE_DIGITS
    magnitude = math.floor(math.log10(float(np.median(nonzero))))
    wanted = VALUE_DIGITS - 1 - magnitude
    if wanted > MAX_DECIMALS or magnitude > MAX_MAGNITUDE:
        return None
    wanted = max(0, wanted)
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 beside 0.7: inf is not exact
        for carried in range(wanted):  # the fewest decimals that hold every value exactly
            scaled = finite * 10.0**carried
            if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.abs(scaled)):
                return carried
    return wanted
