"""One decision per param for a refined spec: fix, narrow, expand, explore or keep.

The elite analysis proposes an action; the variant decides how far to follow
it. *Aggressive* follows it, with a tight margin; *conservative* fixes only
what a test also supports, keeps wide margins and explores what never varied.
Every decision carries its reason and the test it rests on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from kttui.analysis.elite import EliteParam
from kttui.analysis.overview import Analysis
from kttui.analysis.table import TrialFrame
from kttui.analysis.values import canonical, format_p, is_number
from kttui.recommend.ranges import (
    expanded_bounds,
    margin,
    next_choice,
    numeric_choices,
    range_entry,
    round_sig,
    with_neighbours,
)
from kttui.safetext import format_value, sort_key

Variant = Literal["aggressive", "conservative"]

#: Margin around the elite range, as a share of the elite span (in the param's scale).
MARGIN = {"aggressive": 0.1, "conservative": 0.5}
#: A never-varied positive float is explored over x/÷ this factor (conservative only).
EXPLORE_FACTOR = 3.0
#: Conservative fixes a converged param only when a test agrees at this level.
CONSERVATIVE_P = 0.10


@dataclass(frozen=True)
class SpecChange:
    param: str
    action: str  # fix | narrow | expand | explore | keep
    entry: dict[str, Any] | None  # new space entry, None when moved to fixed
    fixed_value: Any
    reason: str


def refine_param(
    table: TrialFrame, analysis: Analysis, p: str, entry: dict[str, Any], variant: Variant
) -> SpecChange:
    e = analysis.elite.get(p)
    values = table.distinct(p)
    if len(values) <= 1:
        return _never_varied(table, p, entry, values, variant)
    if e is None or e.action == "keep":
        reason = e.reason if e is not None else "no elite"
        return SpecChange(p, "keep", entry, None, f"{reason}{_evidence(analysis, p)}")
    why = f"{e.reason}{_evidence(analysis, p)}"
    if e.action == "fix":
        support = _test_p(analysis, p)
        if variant == "aggressive" or (math.isfinite(support) and support < CONSERVATIVE_P):
            return SpecChange(p, "fix", None, table.plain_value(p, e.dominant), why)
        return SpecChange(
            p,
            "keep",
            entry,
            None,
            f"{e.reason}, but no test supports it (p={format_p(support)}); kept open",
        )
    if e.action == "narrow":
        return _narrow(p, entry, e, variant, why)
    return _expand(p, entry, e, variant, why)


def _never_varied(
    table: TrialFrame, p: str, entry: dict[str, Any], values: list[Any], variant: Variant
) -> SpecChange:
    value: Any = table.plain_value(p, values[0]) if values else None
    if variant == "aggressive" or not values:
        why = f"never varied (always {format_value(value)}): the sweep says nothing about it"
        return SpecChange(p, "fix", None, value, why)
    if is_number(value) and not isinstance(value, bool) and float(value) > 0:
        info = table.info(p)
        x = float(value)
        if info.kind == "int":
            low, high = max(1, math.floor(x / 2)), max(math.ceil(x * 2), math.floor(x / 2) + 1)
            new = {"type": "int", "low": int(low), "high": int(high)}
            why = f"never varied (always {format_value(x)}): explore x/÷ 2"
        else:
            new = {
                "type": "float",
                "low": round_sig(x / EXPLORE_FACTOR, 2, "down"),
                "high": round_sig(x * EXPLORE_FACTOR, 2, "up"),
                "log": True,
            }
            why = (
                f"never varied (always {format_value(x)}): "
                f"explore x/÷ {EXPLORE_FACTOR:g} in log scale"
            )
        return SpecChange(p, "explore", new, None, why)
    return SpecChange(p, "keep", entry, None, f"never varied (always {format_value(value)})")


def _test_p(analysis: Analysis, p: str) -> float:
    g = analysis.importance.group(p)
    if g is not None:
        return g.p_value
    c = analysis.importance.correlation(p)
    return c.correlation.p_value if c is not None else math.nan


def _evidence(analysis: Analysis, p: str) -> str:
    """'; rho=+0.48, p=0.07' or '; Mann-Whitney p=0.003' when a test exists."""
    g = analysis.importance.group(p)
    if g is not None:
        return f"; {g.test} p={format_p(g.p_value)}"
    c = analysis.importance.correlation(p)
    if c is not None:
        return f"; rho={c.correlation.rho:+.2f}, p={format_p(c.correlation.p_value)}"
    return ""


def _narrow(p: str, entry: dict[str, Any], e: EliteParam, variant: Variant, why: str) -> SpecChange:
    kind = entry.get("type")
    if kind in ("categorical", "bool"):
        choices = list(entry.get("choices") or [False, True])
        used = {canonical(v) for v in e.elite_values}
        if variant == "aggressive":
            keep = [c for c in choices if canonical(c) in used]
        else:
            keep = with_neighbours(choices, used)
        if len(keep) == len(choices) or not keep:
            return SpecChange(p, "keep", entry, None, why)
        if len(keep) == 1:
            return SpecChange(p, "fix", None, keep[0], why)
        return SpecChange(p, "narrow", {"type": "categorical", "choices": keep}, None, why)
    if e.elite_low is None or e.elite_high is None:
        return SpecChange(p, "keep", entry, None, why)
    low, high = margin(e.elite_low, e.elite_high, entry, MARGIN[variant], _bounds(e))
    new = range_entry(entry, low, high)
    if new is None:
        return SpecChange(p, "keep", entry, None, why)
    return SpecChange(
        p, "narrow", new, None, f"{why} → [{format_value(new['low'])}, {format_value(new['high'])}]"
    )


def _bounds(e: EliteParam) -> tuple[float | None, float | None]:
    return e.bound_low, e.bound_high


def _expand(p: str, entry: dict[str, Any], e: EliteParam, variant: Variant, why: str) -> SpecChange:
    if entry.get("type") == "categorical":
        return _expand_choices(p, entry, e, variant, why)
    lo, hi = float(entry["low"]), float(entry["high"])
    new_lo, new_hi, note = expanded_bounds(entry, low=e.expand_low, high=e.expand_high)
    share = MARGIN[variant]
    if variant == "aggressive" and not e.expand_low and e.elite_low is not None:
        floor, _ = margin(e.elite_low, e.elite_high or e.elite_low, entry, share, _bounds(e))
        new_lo = max(new_lo, floor)
    if variant == "aggressive" and not e.expand_high and e.elite_high is not None:
        _, ceiling = margin(e.elite_low or e.elite_high, e.elite_high, entry, share, _bounds(e))
        new_hi = min(new_hi, ceiling)
    widened = {**entry, "low": min(new_lo, lo), "high": max(new_hi, hi)}
    new = range_entry(widened, new_lo, new_hi)
    if new is None:
        return SpecChange(p, "keep", entry, None, why)
    rng = f" → [{format_value(new['low'])}, {format_value(new['high'])}]"
    return SpecChange(p, "expand", new, None, why + rng + (f"; {note}" if note else ""))


def _expand_choices(
    p: str, entry: dict[str, Any], e: EliteParam, variant: Variant, why: str
) -> SpecChange:
    """A numeric grid continued one step past the end(s) the elite crowds."""
    nums = numeric_choices(entry)
    if nums is None or len(nums) < 2:
        return SpecChange(p, "keep", entry, None, why)
    ints = all(isinstance(c, int) for c in entry["choices"])
    added: list[Any] = []
    if e.expand_high:
        added.append(next_choice(nums[-2], nums[-1], ints))
    if e.expand_low:
        nxt = next_choice(nums[1], nums[0], ints)
        if nxt > 0 or nums[0] <= 0:
            added.append(nxt)
    base = list(entry["choices"])
    if variant == "aggressive":
        used = {canonical(v) for v in e.elite_values}
        base = [c for c in base if canonical(c) in used] or base
    choices = sorted({*[canonical(c) for c in base], *[canonical(a) for a in added]}, key=sort_key)
    choices_out = [int(c) if ints else c for c in choices]
    return SpecChange(
        p,
        "expand",
        {"type": "categorical", "choices": choices_out},
        None,
        f"{why} → add {', '.join(format_value(a) for a in added)}",
    )
