"""The arithmetic of refining a range or a list of choices: rounding, margins, steps.

Pure functions of numbers and space entries, so each rule can be tested alone.
A refined range must never silently lose a value the elite used: rounding goes
outward, snapping to a step goes outward, and a range too narrow to sample is
reported as None rather than collapsed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

from kttui.analysis.coverage import nice_round
from kttui.analysis.values import canonical, is_number
from kttui.safetext import sort_key

#: An expanded bound moves out by this share of the old span (log: of the old decades).
EXPAND_BY = 0.5


def round_sig(x: float, digits: int = 3, mode: Literal["down", "up", "near"] = "near") -> float:
    """Round to ``digits`` significant digits, outward when asked (so ranges never shrink)."""
    if mode == "near" or x == 0 or not math.isfinite(x):
        return nice_round(x, digits)
    scale = 10 ** (math.floor(math.log10(abs(x))) - digits + 1)
    q = x / scale
    r = math.floor(q) if mode == "down" else math.ceil(q)
    return float(f"{r * scale:.{digits + 2}g}")


def numeric_choices(entry: Mapping[str, Any]) -> list[float] | None:
    """A categorical entry's choices as sorted numbers, or None when they are not all numbers."""
    if entry.get("type") != "categorical":
        return None
    choices = entry.get("choices") or []
    if choices and all(is_number(c) for c in choices):
        return sorted(float(c) for c in choices)
    return None


def with_neighbours(choices: list[Any], used: set[Any]) -> list[Any]:
    """The used choices plus one neighbour on each side (numbers keep their order)."""
    ordered = sorted(choices, key=lambda c: sort_key(canonical(c)))
    if not all(is_number(c) for c in ordered):
        return list(choices)
    idx = [i for i, c in enumerate(ordered) if canonical(c) in used]
    if not idx:
        return list(choices)
    return ordered[max(0, min(idx) - 1) : max(idx) + 2]


def margin(
    lo: float,
    hi: float,
    entry: Mapping[str, Any],
    share: float,
    bounds: tuple[float | None, float | None] = (None, None),
) -> tuple[float, float]:
    """``[lo, hi]`` padded by ``share`` of its span (in log scale for a log entry).

    A single-value range gets 5 % of the full range instead; the result stays
    inside the entry's bounds, else inside ``bounds`` (the range tried).
    """
    bound_low, bound_high = bounds
    log = bool(entry.get("log")) and lo > 0
    f: Callable[[float], float] = math.log10 if log else (lambda v: v)
    g: Callable[[float], float] = (lambda v: 10**v) if log else (lambda v: v)
    span = f(hi) - f(lo)
    full_lo = float(entry.get("low", bound_low or lo))
    full_hi = float(entry.get("high", bound_high or hi))
    full = f(full_hi) - f(full_lo)
    pad = share * span if span > 0 else 0.05 * full
    new_lo, new_hi = g(f(lo) - pad), g(f(hi) + pad)
    b_lo = float(entry.get("low", bound_low if bound_low is not None else new_lo))
    b_hi = float(entry.get("high", bound_high if bound_high is not None else new_hi))
    return max(new_lo, b_lo), min(new_hi, b_hi)


def range_entry(entry: Mapping[str, Any], low: float, high: float) -> dict[str, Any] | None:
    """A float/int entry over [low, high], snapped outward to the entry's step."""
    kind = entry.get("type")
    if kind == "categorical":
        if numeric_choices(entry) is None:
            return None
        keep = [c for c in entry["choices"] if low - 1e-12 <= float(c) <= high + 1e-12]
        return {"type": "categorical", "choices": keep} if len(keep) > 1 else None
    new: dict[str, Any] = {"type": kind}
    step = entry.get("step")
    b_lo, b_hi = float(entry["low"]), float(entry["high"])
    if kind == "int":
        s = int(step or 1)
        lo_i = int(b_lo + math.floor((low - b_lo) / s) * s)
        hi_i = int(b_lo + math.ceil((high - b_lo) / s) * s)
        lo_i, hi_i = max(lo_i, int(b_lo)), min(hi_i, int(b_hi))
        if hi_i <= lo_i:
            hi_i = min(lo_i + s, int(b_hi)) if lo_i + s <= b_hi else hi_i
            lo_i = hi_i - s if hi_i <= lo_i else lo_i
        new.update(low=lo_i, high=hi_i)
    elif step:
        st = float(step)
        n_lo = math.floor((low - b_lo) / st + 1e-9)
        n_hi = math.ceil((high - b_lo) / st - 1e-9)
        if n_hi <= n_lo:
            n_hi = n_lo + 1
        new.update(low=round_sig(b_lo + n_lo * st, 6), high=round_sig(b_lo + n_hi * st, 6))
    else:
        new.update(
            low=max(round_sig(low, 3, "down"), b_lo), high=min(round_sig(high, 3, "up"), b_hi)
        )
    if float(new["high"]) <= float(new["low"]):
        return None
    if entry.get("log"):
        new["log"] = True
    if step and kind == "int" and int(step) != 1:
        new["step"] = int(step)
    elif step and kind == "float":
        new["step"] = step
    return new


def expanded_bounds(
    entry: Mapping[str, Any], *, low: bool, high: bool
) -> tuple[float, float, str | None]:
    """A float/int entry's bounds moved out on the sides asked, and a note when capped.

    Bounds never cross zero from the non-negative side, a [0, 1] float (a
    probability, by its look) stays within 1, and an int from 1 up stays >= 1.
    """
    lo, hi = float(entry["low"]), float(entry["high"])
    new_lo, new_hi = lo, hi
    if bool(entry.get("log")) and lo > 0:
        factor = min(10.0, 10 ** (EXPAND_BY * math.log10(hi / lo)))
        if high:
            new_hi = hi * factor
        if low:
            new_lo = lo / factor
    else:
        span = hi - lo
        if high:
            new_hi = hi + EXPAND_BY * span
        if low:
            new_lo = lo - EXPAND_BY * span
    note = None
    if lo >= 0 and new_lo < 0:
        new_lo = 0.0
    if lo >= 0 and hi <= 1 and entry.get("type") == "float" and new_hi > 1:
        new_hi = 1.0
        note = "capped at 1 (the range looks like a probability)"
    if entry.get("type") == "int" and lo >= 1:
        new_lo = max(1.0, new_lo)
    return new_lo, new_hi, note


def next_choice(prev: float, last: float, ints: bool) -> Any:
    """Continue a grid one step past ``last`` (geometric when it looks geometric)."""
    if prev > 0 and last > 0 and (last / prev >= 1.5 or prev / last >= 1.5):
        nxt = last * (last / prev)
    else:
        nxt = last + (last - prev)
    return round(nxt) if ints else round_sig(nxt, 3)
