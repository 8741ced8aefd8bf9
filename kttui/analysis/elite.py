"""Where the best trials live: what to fix, what to narrow, which bounds to push (seed 003).

The elite is the top quarter of completed trials. A param on which every elite
agrees is a candidate to fix; a numeric param whose elites fill only part of
the range can be narrowed; elites piled at a bound mean the optimum may lie
beyond it, so the bound should move out rather than in.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from kttui.analysis.impact import MAX_LEVELS, TOP_FRACTION
from kttui.analysis.table import TrialFrame
from kttui.safetext import format_value, is_missing, sort_key

#: Fewer elites than this cannot show "convergence": with one or two trials every
#: param trivially agrees with itself.
MIN_ELITE = 3
#: Share of the range (in the param's own scale) counted as "at the bound".
EDGE = 0.1
#: Share of elites in the edge zone that makes the bound worth expanding...
EXPAND_SHARE = 0.4
#: ...provided the elite is this many times likelier to sit there than all trials
#: are (TPE crowds the edges too, and a 3-value grid puts a third there by chance).
EXPAND_LIFT = 1.5
#: Narrow only when the elites span less than this share of the full range.
NARROW_MAX_SHARE = 0.6

Action = Literal["fix", "narrow", "expand", "keep"]


@dataclass(frozen=True)
class EliteParam:
    param: str
    kind: str
    action: Action
    reason: str
    elite_counts: dict[str, int] = field(default_factory=dict)  # for discrete params
    dominant: Any = None
    dominant_share: float = math.nan
    elite_values: list[Any] = field(default_factory=list)  # distinct, sorted (discrete params only)
    elite_low: float | None = None
    elite_high: float | None = None
    bound_low: float | None = None
    bound_high: float | None = None
    bounds_declared: bool = False
    log: bool = False
    at_low_share: float = math.nan
    at_high_share: float = math.nan
    span_share: float = math.nan  # elite span / full span, in the param's scale
    expand_low: bool = False
    expand_high: bool = False
    narrow: bool = False


@dataclass(frozen=True)
class EliteAnalysis:
    fraction: float
    n_complete: int
    n_elite: int
    threshold: float  # the worst elite value
    numbers: list[int]
    params: list[EliteParam]
    warnings: list[str] = field(default_factory=list)

    def get(self, param: str) -> EliteParam | None:
        return next((p for p in self.params if p.param == param), None)

    def by_action(self, action: Action) -> list[EliteParam]:
        return [p for p in self.params if p.action == action]


def elite_analysis(table: TrialFrame, *, fraction: float = TOP_FRACTION) -> EliteAnalysis:
    done = table.completed
    n = len(done)
    k = max(1, math.ceil(fraction * n)) if n else 0
    elite = table.ranked().head(k)
    warns: list[str] = []
    if n == 0:
        return EliteAnalysis(fraction, 0, 0, math.nan, [], [], ["no completed trials: no elite"])
    if k < MIN_ELITE:
        warns.append(
            f"the elite (top {fraction:.0%}) has only {k} trial(s); nothing is fixed on "
            f"convergence (needs >= {MIN_ELITE})"
        )
    params = [_elite_param(table, p, elite, k) for p in table.params]
    return EliteAnalysis(
        fraction=fraction,
        n_complete=n,
        n_elite=k,
        threshold=float(elite["value"].iloc[-1]),
        numbers=[int(x) for x in elite["number"]],
        params=params,
        warnings=warns,
    )


def _scale(x: float, log: bool) -> float:
    return math.log10(x) if log else x


def _elite_param(table: TrialFrame, p: str, elite: Any, k: int) -> EliteParam:
    info = table.info(p)
    all_values = table.distinct(p)
    elite_keys = [v for v in table.canonical_values(p, elite) if v is not None]
    counts = Counter(elite_keys)
    distinct_elite = sorted(counts, key=sort_key)
    discrete = len(all_values) <= MAX_LEVELS or not table.is_numeric(p)
    elite_counts = {format_value(v): counts[v] for v in distinct_elite} if discrete else {}
    dominant, dom_n = counts.most_common(1)[0] if counts else (None, 0)
    share = dom_n / len(elite_keys) if elite_keys else math.nan
    base: dict[str, Any] = {
        "param": p,
        "kind": info.kind,
        "elite_counts": elite_counts,
        "dominant": dominant,
        "dominant_share": share,
        "elite_values": distinct_elite if discrete else [],
    }
    if len(all_values) < 2:
        return EliteParam(action="keep", reason="never varied", **base)
    if not elite_keys:
        return EliteParam(action="keep", reason="no elite trial has this param", **base)
    converged = len(counts) == 1 and k >= MIN_ELITE
    if not table.is_numeric(p):
        return _discrete_action(p, base, all_values, converged, len(elite_keys))
    return _numeric_action(table, p, base, all_values, elite_keys, converged)


def _discrete_action(
    p: str, base: dict[str, Any], all_values: list[Any], converged: bool, n_elite: int
) -> EliteParam:
    dominant = base["dominant"]
    if converged:
        reason = f"{n_elite}/{n_elite} elite trials use {format_value(dominant)}"
        return EliteParam(action="fix", reason=reason, **base)
    used = base["elite_values"]
    if n_elite >= MIN_ELITE and len(used) < len(all_values):
        unused = [format_value(v) for v in all_values if v not in used]
        reason = f"no elite trial uses {', '.join(unused)}"
        return EliteParam(action="narrow", reason=reason, narrow=True, **base)
    return EliteParam(action="keep", reason="elite trials use every value", **base)


def _numeric_action(
    table: TrialFrame,
    p: str,
    base: dict[str, Any],
    all_values: list[Any],
    elite_keys: list[Any],
    converged: bool,
) -> EliteParam:
    info = table.info(p)
    declared = p in table.space and info.low is not None and info.high is not None
    if declared:
        lo, hi = float(info.low), float(info.high)  # type: ignore[arg-type]
    else:
        lo, hi = float(min(all_values)), float(max(all_values))
    if info.kind == "categorical" and info.choices:
        nums = [float(c) for c in info.choices]
        lo, hi, declared = min(nums), max(nums), True
    log = info.log and lo > 0
    x = np.array([float(v) for v in elite_keys])
    e_lo, e_hi = float(x.min()), float(x.max())
    span = _scale(hi, log) - _scale(lo, log)
    done = table.completed
    everyone = np.array([float(v) for v in done[p] if not is_missing(v)])
    at_low, at_high = _edge_shares(x, lo, hi, log, len(all_values) <= MAX_LEVELS)
    all_low, all_high = _edge_shares(everyone, lo, hi, log, len(all_values) <= MAX_LEVELS)
    n_elite = len(elite_keys)
    enough = n_elite >= MIN_ELITE
    expand_low = enough and at_low >= EXPAND_SHARE and at_low >= EXPAND_LIFT * all_low
    expand_high = enough and at_high >= EXPAND_SHARE and at_high >= EXPAND_LIFT * all_high
    span_share = (_scale(e_hi, log) - _scale(e_lo, log)) / span if span > 0 else math.nan
    narrow = enough and math.isfinite(span_share) and span_share < NARROW_MAX_SHARE
    where = "declared bounds" if declared else "range tried"
    fields: dict[str, Any] = {
        **base,
        "elite_low": e_lo,
        "elite_high": e_hi,
        "bound_low": lo,
        "bound_high": hi,
        "bounds_declared": declared,
        "log": log,
        "at_low_share": at_low,
        "at_high_share": at_high,
        "span_share": span_share,
        "expand_low": expand_low,
        "expand_high": expand_high,
        "narrow": narrow,
    }
    elite_range = f"elite range [{format_value(e_lo)}, {format_value(e_hi)}]"
    full = f"{where} [{format_value(lo)}, {format_value(hi)}]"
    if expand_low or expand_high:
        sides = []
        if expand_high:
            sides.append(
                f"{at_high:.0%} of elites (vs {all_high:.0%} of all trials) at the upper end"
            )
        if expand_low:
            sides.append(
                f"{at_low:.0%} of elites (vs {all_low:.0%} of all trials) at the lower end"
            )
        return EliteParam(action="expand", reason=f"{' and '.join(sides)} of the {full}", **fields)
    if converged:
        reason = f"{n_elite}/{n_elite} elite trials use {format_value(base['dominant'])}"
        return EliteParam(action="fix", reason=reason, **fields)
    if narrow:
        return EliteParam(
            action="narrow",
            reason=f"{elite_range} covers {span_share:.0%} of the {full}",
            **fields,
        )
    return EliteParam(
        action="keep",
        reason=f"{elite_range} spans {span_share:.0%} of the {full}"
        if math.isfinite(span_share)
        else "no range to compare",
        **fields,
    )


def _edge_shares(x: np.ndarray, lo: float, hi: float, log: bool, grid: bool) -> tuple[float, float]:
    """Shares of ``x`` at each end: the end value on a grid, the outer 10 % otherwise."""
    if len(x) == 0:
        return math.nan, math.nan
    if grid:
        tol_lo, tol_hi = 1e-12 * max(1.0, abs(lo)), 1e-12 * max(1.0, abs(hi))
        return float(np.mean(x <= lo + tol_lo)), float(np.mean(x >= hi - tol_hi))
    span = _scale(hi, log) - _scale(lo, log)
    if span <= 0:
        return math.nan, math.nan
    pos = (np.array([_scale(v, log) for v in x]) - _scale(lo, log)) / span
    return float(np.mean(pos <= EDGE)), float(np.mean(pos >= 1 - EDGE))
