"""What a sweep did not look at: params never varied, thin evidence, grid gaps, untested combos.

A conclusion about a value is only as good as the trials behind it; seed 000
recommended "keep d_model=256, no benefit from 384" on one trial at 384 and
blamed a learning rate it never varied. These lists make such holes visible.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from kttui.analysis.impact import MAX_LEVELS
from kttui.analysis.table import TrialFrame
from kttui.analysis.values import canonical, is_number, sorted_values
from kttui.safetext import sort_key

#: Declared int/step grids larger than this are treated as continuous.
MAX_GRID = 50
#: How many untested combinations to show per pair.
N_EXAMPLES = 5

Source = Literal["declared", "observed"]


@dataclass(frozen=True)
class NeverVaried:
    param: str
    value: Any  # the single value, or None when the param is always missing
    n: int  # trials with that value


@dataclass(frozen=True)
class RareValue:
    """A value whose whole evidence is a single completed trial."""

    param: str
    value: Any
    number: int


@dataclass(frozen=True)
class GridGap:
    """Values between two tested neighbours that were never tested."""

    param: str
    lower: Any
    upper: Any
    candidates: list[Any]
    source: Source
    near_best: bool  # one side of the gap is the best trial's value


@dataclass(frozen=True)
class UntestedValues:
    """Declared values outside every gap (below/above all tested values) never tested."""

    param: str
    values: list[Any]


@dataclass(frozen=True)
class PairCoverage:
    a: str
    b: str
    n_tested: int
    n_possible: int
    untested_examples: list[tuple[Any, Any]]

    @property
    def share(self) -> float:
        return self.n_tested / self.n_possible if self.n_possible else math.nan


@dataclass(frozen=True)
class Coverage:
    n_trials: int
    n_unique_configs: int
    grid_size: int | None  # combinations of all params' grids; None when any is continuous
    grid_source: Source | None
    never_varied: list[NeverVaried]
    tested_once: list[RareValue]
    gaps: list[GridGap]
    untested: list[UntestedValues]
    pairs: list[PairCoverage]


def grid_values(table: TrialFrame, param: str) -> tuple[list[Any], Source] | None:
    """Every value ``param`` can take, from the declared space or else from what was observed."""
    info = table.space.get(param)
    if info is not None:
        if info.kind == "bool":
            return [False, True], "declared"
        if info.kind == "categorical" and info.choices is not None:
            return sorted_values(canonical(c) for c in info.choices), "declared"
        if info.low is not None and info.high is not None:
            step = info.step if info.step else (1.0 if info.kind == "int" else None)
            if step and not info.log and (info.high - info.low) / step + 1 <= MAX_GRID:
                n = round((info.high - info.low) / step)
                return [canonical(info.low + i * step) for i in range(n + 1)], "declared"
            if info.kind == "int" and info.log and info.high - info.low + 1 <= MAX_GRID:
                return [
                    canonical(float(v)) for v in range(int(info.low), int(info.high) + 1)
                ], "declared"
    observed = table.distinct(param)
    if 0 < len(observed) <= MAX_LEVELS:
        return observed, "observed"
    return None


def nice_round(x: float, digits: int = 2) -> float:
    """Round to ``digits`` significant digits: a proposal should read 7.1e-05, not 7.0710678e-05."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


def in_between(table: TrialFrame, param: str, lower: Any, upper: Any) -> list[Any]:
    """Candidate values strictly between two observed neighbours (midpoint, log-midpoint, ints)."""
    if not (is_number(lower) and is_number(upper)):
        return []
    lo, hi = float(lower), float(upper)
    info = table.info(param)
    if info.kind == "int":
        inner = list(range(int(lo) + 1, int(hi)))
        if len(inner) <= 3:
            return [float(v) for v in inner]
        picks = np.linspace(lo, hi, 5)[1:-1]
        return sorted({float(round(v)) for v in picks})
    if info.log and lo > 0:
        mid = nice_round(math.sqrt(lo * hi))
    else:
        mid = nice_round((lo + hi) / 2, digits=max(2, _decimals_needed(lo, hi)))
    return [mid] if lo < mid < hi else []


def _decimals_needed(lo: float, hi: float) -> int:
    """Fewest significant digits that keep the rounded midpoint within 5 % of the gap."""
    true_mid = (lo + hi) / 2
    for digits in range(2, 8):
        if abs(nice_round(true_mid, digits) - true_mid) <= 0.05 * (hi - lo):
            return digits
    return 8


def coverage(table: TrialFrame) -> Coverage:
    df = table.df
    done = table.completed
    best = table.ranked().head(1)
    best_config = {p: canonical(best.iloc[0][p]) for p in table.params} if len(best) else {}
    never: list[NeverVaried] = []
    once: list[RareValue] = []
    gaps: list[GridGap] = []
    untested: list[UntestedValues] = []
    grids: dict[str, tuple[list[Any], Source]] = {}
    for p in table.params:
        values = table.distinct(p)
        if len(values) <= 1:
            n = int(df[p].notna().sum()) if p in df.columns else 0
            never.append(NeverVaried(p, values[0] if values else None, n))
        grid = grid_values(table, p)
        if grid is None:
            continue
        grids[p] = grid
        keys = table.canonical_values(p, done)
        tested = sorted_values({k for k in keys if k is not None})
        if len(values) > 1:
            for value in tested:
                hits = [i for i, k in enumerate(keys) if k == value]
                if len(hits) == 1:
                    once.append(RareValue(p, value, int(done.iloc[hits[0]]["number"])))
        gaps.extend(_gaps(table, p, tested, grid, best_config.get(p)))
        declared, source = grid
        if source == "declared" and tested:
            outside = [
                v
                for v in declared
                if v not in tested
                and (
                    not _ordered(v, tested)
                    or sort_key(v) < sort_key(tested[0])
                    or sort_key(v) > sort_key(tested[-1])
                )
            ]
            if outside:
                untested.append(UntestedValues(p, outside))
    varied = [p for p in grids if len(grids[p][0]) > 1]
    pairs = [
        _pair(table, done, a, b, grids, best_config) for a, b in itertools.combinations(varied, 2)
    ]
    pairs.sort(key=lambda pc: (pc.share, pc.a, pc.b))
    grid_size: int | None = None
    grid_source: Source | None = None
    if table.params and all(p in grids for p in table.params):
        grid_size = int(np.prod([len(grids[p][0]) for p in table.params]))
        grid_source = (
            "declared" if all(grids[p][1] == "declared" for p in table.params) else "observed"
        )
    return Coverage(
        n_trials=len(df),
        n_unique_configs=len(set(table.config_keys(df))),
        grid_size=grid_size,
        grid_source=grid_source,
        never_varied=never,
        tested_once=once,
        gaps=gaps,
        untested=untested,
        pairs=pairs,
    )


def _ordered(value: Any, tested: list[Any]) -> bool:
    return is_number(value) and all(is_number(t) for t in tested)


def _gaps(
    table: TrialFrame, p: str, tested: list[Any], grid: tuple[list[Any], Source], best: Any
) -> list[GridGap]:
    declared, source = grid
    if len(tested) < 2 or not all(is_number(v) for v in tested):
        return []
    out: list[GridGap] = []
    for lower, upper in itertools.pairwise(tested):
        if source == "declared" and all(is_number(v) for v in declared):
            inner = [v for v in declared if float(lower) < float(v) < float(upper)]
            if len(inner) > 5:
                idx = np.linspace(0, len(inner) - 1, 5).round().astype(int)
                inner = [inner[i] for i in sorted(set(idx))]
        else:
            inner = [canonical(v) for v in in_between(table, p, lower, upper)]
        if inner:
            near = best is not None and best in (lower, upper)
            out.append(GridGap(p, lower, upper, inner, source, near))
    return out


def _pair(
    table: TrialFrame,
    done: Any,
    a: str,
    b: str,
    grids: dict[str, tuple[list[Any], Source]],
    best: dict[str, Any],
) -> PairCoverage:
    va, vb = grids[a][0], grids[b][0]
    tested = set(zip(table.canonical_values(a, done), table.canonical_values(b, done), strict=True))
    missing = [(x, y) for x in va for y in vb if (x, y) not in tested]

    def distance(combo: tuple[Any, Any]) -> int:
        da = abs(va.index(combo[0]) - va.index(best[a])) if best.get(a) in va else 0
        db = abs(vb.index(combo[1]) - vb.index(best[b])) if best.get(b) in vb else 0
        return da + db

    missing.sort(key=distance)
    n_tested = len([t for t in tested if t[0] in va and t[1] in vb])
    return PairCoverage(a, b, n_tested, len(va) * len(vb), missing[:N_EXAMPLES])
