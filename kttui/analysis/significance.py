"""How sure a direction is: Spearman's rho for ordered params, rank tests for categories.

Spearman's rho is read in the study's direction ("higher is better"); bool and
categorical params get a rank test (Mann-Whitney for two groups, Kruskal-Wallis
for more). Every result carries its p-value tier so the report's wording can hedge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from kttui.analysis.impact import group_labels
from kttui.analysis.table import TrialFrame
from kttui.analysis.values import is_missing

#: Below this many points Spearman's rho is not reported as a trend: one trial can
#: flip its sign, and the p-value's approximation is poor.
MIN_TRIALS_CORRELATION = 8
#: Groups smaller than this are left out of the rank tests (and named in a warning).
MIN_GROUP_SIZE = 3

Tier = Literal["p<0.05", "p<0.10", "n.s."]


def tier(p_value: float) -> Tier:
    if not math.isfinite(p_value) or p_value >= 0.10:
        return "n.s."
    return "p<0.05" if p_value < 0.05 else "p<0.10"


@dataclass(frozen=True)
class Correlation:
    param: str
    n: int
    rho: float  # against the objective as measured
    p_value: float

    @property
    def tier(self) -> Tier:
        return tier(self.p_value)


@dataclass(frozen=True)
class Directional:
    """A correlation read in the study's direction."""

    correlation: Correlation
    direction: Literal["maximize", "minimize"]

    @property
    def goodness(self) -> float:
        """rho of the param against 'better' (positive: higher values do better)."""
        sign = 1.0 if self.direction == "maximize" else -1.0
        return self.correlation.rho * sign

    @property
    def trend(self) -> str:
        if not math.isfinite(self.goodness) or self.goodness == 0:
            return "no trend"
        return "higher is better" if self.goodness > 0 else "higher is worse"


@dataclass(frozen=True)
class Group:
    label: str
    n: int
    mean: float
    median: float


@dataclass(frozen=True)
class GroupComparison:
    param: str
    test: Literal["mann-whitney", "kruskal-wallis"]
    statistic: float
    p_value: float
    groups: list[Group]  # best mean first
    dropped: list[str]  # labels with fewer than MIN_GROUP_SIZE results

    @property
    def tier(self) -> Tier:
        return tier(self.p_value)

    @property
    def delta(self) -> float:
        """best group mean - worst group mean, in objective units."""
        return self.groups[0].mean - self.groups[-1].mean


def spearman(table: TrialFrame) -> tuple[list[Directional], list[str]]:
    """Spearman rho (with p) of each numeric param against the objective."""
    done = table.completed
    out: list[Directional] = []
    notes: list[str] = []
    for p in table.params:
        if not table.is_numeric(p) or p not in done.columns:
            continue
        pairs = [
            (float(x), float(y))
            for x, y in zip(done[p], done["value"], strict=True)
            if not is_missing(x)
        ]
        if len({x for x, _ in pairs}) < 2:
            continue
        if len(pairs) < MIN_TRIALS_CORRELATION:
            notes.append(
                f"{p}: only {len(pairs)} completed trials (< {MIN_TRIALS_CORRELATION}); "
                "no correlation reported"
            )
            continue
        x, y = np.array(pairs).T
        if np.ptp(y) == 0:
            continue
        res = stats.spearmanr(x, y)
        out.append(
            Directional(
                Correlation(p, len(pairs), float(res.statistic), float(res.pvalue)), table.direction
            )
        )
    out.sort(key=lambda d: -abs(d.correlation.rho))
    return out, notes


def group_tests(table: TrialFrame) -> tuple[list[GroupComparison], list[str]]:
    """Rank tests of the objective across the values of each bool/categorical param."""
    out: list[GroupComparison] = []
    notes: list[str] = []
    done_index = table.completed.index
    values = table.df["value"].astype(float)
    for p in table.params:
        if table.info(p).kind not in ("bool", "categorical"):
            continue
        labels, order = group_labels(table, p)
        samples: dict[str, np.ndarray] = {}
        for label, _ in order:
            mask = (labels == label) & table.df.index.isin(done_index)
            samples[label] = values[mask].to_numpy(dtype=float)
        usable = {k: v for k, v in samples.items() if len(v) >= MIN_GROUP_SIZE}
        dropped = [k for k, v in samples.items() if 0 < len(v) < MIN_GROUP_SIZE]
        if len([k for k, v in samples.items() if len(v)]) < 2:
            continue
        if len(usable) < 2:
            notes.append(
                f"{p}: fewer than two values with >= {MIN_GROUP_SIZE} completed trials; not tested"
            )
            continue
        arrays = list(usable.values())
        if np.ptp(np.concatenate(arrays)) == 0:
            continue
        if len(arrays) == 2:
            res = stats.mannwhitneyu(arrays[0], arrays[1], alternative="two-sided")
            test: Literal["mann-whitney", "kruskal-wallis"] = "mann-whitney"
        else:
            res = stats.kruskal(*arrays)
            test = "kruskal-wallis"
        groups = [Group(k, len(v), float(v.mean()), float(np.median(v))) for k, v in usable.items()]
        groups.sort(key=lambda g: -g.mean * table.sign)
        out.append(
            GroupComparison(p, test, float(res.statistic), float(res.pvalue), groups, dropped)
        )
    out.sort(key=lambda g: g.p_value)
    return out, notes
