"""Which params matter, in which direction, and how sure we can be: the combined analysis.

Importances come from :mod:`kttui.analysis.model_importance` (fANOVA, PED-ANOVA),
directions and their p-values from :mod:`kttui.analysis.significance`; this
module bundles both, with the warnings a reader needs to weigh them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kttui.analysis.model_importance import Importance, model_importances
from kttui.analysis.significance import (
    MIN_GROUP_SIZE,
    Directional,
    GroupComparison,
    group_tests,
    spearman,
)
from kttui.analysis.table import TrialFrame


@dataclass(frozen=True)
class ImportanceAnalysis:
    importances: list[Importance]
    unavailable: dict[str, str]  # method -> why it was not computed
    correlations: list[Directional]  # by |rho|, largest first
    groups: list[GroupComparison]  # by p-value
    warnings: list[str] = field(default_factory=list)

    @property
    def primary(self) -> Importance | None:
        return self.importances[0] if self.importances else None

    def correlation(self, param: str) -> Directional | None:
        return next((c for c in self.correlations if c.correlation.param == param), None)

    def group(self, param: str) -> GroupComparison | None:
        return next((g for g in self.groups if g.param == param), None)


def analyze_importance(table: TrialFrame, *, seed: int = 0) -> ImportanceAnalysis:
    importances, unavailable = model_importances(table, seed=seed)
    correlations, notes_c = spearman(table)
    groups, notes_g = group_tests(table)
    n = len(table.completed)
    warns = [*notes_c, *notes_g]
    if 0 < n < 20:
        warns.insert(
            0,
            f"only {n} completed trials: importances and p-values have little power; "
            "read them as hints",
        )
    for g in groups:
        if g.dropped:
            warns.append(
                f"{g.param}: {', '.join(g.dropped)} left out of the test "
                f"(< {MIN_GROUP_SIZE} results)"
            )
    return ImportanceAnalysis(importances, unavailable, correlations, groups, warns)


def importance_frame(analysis: ImportanceAnalysis) -> pd.DataFrame:
    rows = [
        {
            "method": imp.method,
            "param": p,
            "percent": v,
            "n_trials": imp.n_trials,
            "sampled": imp.sampled,
        }
        for imp in analysis.importances
        for p, v in imp.percent.items()
    ]
    return pd.DataFrame.from_records(
        rows, columns=["method", "param", "percent", "n_trials", "sampled"]
    )


def correlation_frame(analysis: ImportanceAnalysis) -> pd.DataFrame:
    rows = [
        {
            "param": d.correlation.param,
            "n": d.correlation.n,
            "rho": d.correlation.rho,
            "p_value": d.correlation.p_value,
            "tier": d.correlation.tier,
            "trend": d.trend,
        }
        for d in analysis.correlations
    ]
    return pd.DataFrame.from_records(
        rows, columns=["param", "n", "rho", "p_value", "tier", "trend"]
    )


def group_frame(analysis: ImportanceAnalysis) -> pd.DataFrame:
    rows = [
        {
            "param": g.param,
            "test": g.test,
            "p_value": g.p_value,
            "tier": g.tier,
            "value": grp.label,
            "n": grp.n,
            "mean": grp.mean,
            "median": grp.median,
        }
        for g in analysis.groups
        for grp in g.groups
    ]
    return pd.DataFrame.from_records(
        rows, columns=["param", "test", "p_value", "tier", "value", "n", "mean", "median"]
    )
