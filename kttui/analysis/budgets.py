"""Across budgets (model size, data size, tier): does the winner stay the winner? (seed 002)

Seed 002 read "Dropout: inconsistent across budgets" off three single best
trials. Comparing each budget's best is kept, but the stronger evidence is the
rank agreement of configs run at both budgets: if it is high, small budgets can
be used to screen for large ones.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from kttui.analysis.significance import MIN_TRIALS_CORRELATION, Tier, tier
from kttui.analysis.table import TrialFrame
from kttui.analysis.values import canonical
from kttui.safetext import format_value, is_missing, sort_key

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
#: Fewer shared configs than this give no rank correlation.
MIN_SHARED = 3


@dataclass(frozen=True)
class BudgetBest:
    budget: Any
    n_trials: int
    n_complete: int
    best_value: float
    best_number: int | None
    best_params: dict[str, Any]
    mean: float


@dataclass(frozen=True)
class ParamConsistency:
    """The best trial's value of one param at each budget."""

    param: str
    best_by_budget: dict[str, Any]

    @property
    def consistent(self) -> bool:
        return len({canonical(v) for v in self.best_by_budget.values()}) <= 1


@dataclass(frozen=True)
class RankAgreement:
    budget_a: Any
    budget_b: Any
    n_shared: int
    rho: float
    p_value: float

    @property
    def tier(self) -> Tier:
        return tier(self.p_value)


@dataclass(frozen=True)
class BudgetComparison:
    budgets: list[Any]  # in increasing order when they read as sizes
    bests: list[BudgetBest]
    consistency: list[ParamConsistency]
    agreements: list[RankAgreement]
    best_increases: bool | None  # does the best improve with every larger budget?
    ordered: bool  # budgets were sortable as sizes


def budget_size(value: Any) -> float | None:
    """Read 2M, 20m, 1.5B, 200_000 or 3e6 as a number; None when it is a name."""
    if is_missing(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = re.fullmatch(
        r"\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([kmbgt]?)\s*", str(value).replace("_", ""), re.I
    )
    if not match:
        return None
    return float(match.group(1)) * _SUFFIX.get(match.group(2).lower(), 1.0)


def compare_budgets(table: TrialFrame) -> BudgetComparison | None:
    """None when the trials carry no budget column or only one budget."""
    if not table.has_column("budget"):
        return None
    df = table.df
    seen: list[Any] = []
    for b in df["budget"]:
        if not is_missing(b) and b not in seen:
            seen.append(b)
    if len(seen) < 2:
        return None
    sizes = [budget_size(b) for b in seen]
    ordered = all(s is not None for s in sizes)
    budgets = (
        [b for _, b in sorted(zip(sizes, seen, strict=True), key=lambda t: t[0] or 0)]
        if ordered
        else seen
    )
    done = table.completed
    bests: list[BudgetBest] = []
    for b in budgets:
        sub_all = df[df["budget"] == b]
        sub = done[done["budget"] == b]
        if len(sub):
            row = table.ranked(sub).iloc[0]
            bests.append(
                BudgetBest(
                    b,
                    len(sub_all),
                    len(sub),
                    float(row["value"]),
                    int(row["number"]),
                    table.config_of(row),
                    float(sub["value"].mean()),
                )
            )
        else:
            bests.append(BudgetBest(b, len(sub_all), 0, math.nan, None, {}, math.nan))
    with_best = [x for x in bests if x.best_number is not None]
    consistency = [
        ParamConsistency(p, {format_value(x.budget): x.best_params.get(p) for x in with_best})
        for p in table.params
        if len(with_best) > 1
    ]
    agreements = _agreements(table, budgets)
    increases: bool | None = None
    if ordered and len(with_best) > 1:
        goods = [x.best_value * table.sign for x in with_best]
        increases = all(b > a for a, b in itertools.pairwise(goods))
    return BudgetComparison(budgets, bests, consistency, agreements, increases, ordered)


def _agreements(table: TrialFrame, budgets: list[Any]) -> list[RankAgreement]:
    done = table.completed
    keys = table.config_keys(done)
    per_budget: dict[Any, dict[tuple[Any, ...], list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for key, b, v in zip(keys, done["budget"], done["value"], strict=True):
        per_budget[b][key].append(float(v))
    out: list[RankAgreement] = []
    for i, a in enumerate(budgets):
        for b in budgets[i + 1 :]:
            shared = sorted(
                set(per_budget[a]) & set(per_budget[b]), key=lambda k: [sort_key(x) for x in k]
            )
            if len(shared) < MIN_SHARED:
                out.append(RankAgreement(a, b, len(shared), math.nan, math.nan))
                continue
            xa = np.array([np.mean(per_budget[a][k]) for k in shared])
            xb = np.array([np.mean(per_budget[b][k]) for k in shared])
            if np.ptp(xa) == 0 or np.ptp(xb) == 0:
                out.append(RankAgreement(a, b, len(shared), math.nan, math.nan))
                continue
            res = stats.spearmanr(xa, xb)
            p = float(res.pvalue) if len(shared) >= MIN_TRIALS_CORRELATION else math.nan
            out.append(RankAgreement(a, b, len(shared), float(res.statistic), p))
    return out
