"""Run every analysis once, so the report, the recommendations and the TUI share the results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kttui.analysis.budgets import BudgetComparison, compare_budgets
from kttui.analysis.convergence import Convergence, Efficiency, convergence, efficiency
from kttui.analysis.coverage import Coverage, coverage
from kttui.analysis.duplicates import Duplicates, find_duplicates
from kttui.analysis.elite import EliteAnalysis, elite_analysis
from kttui.analysis.impact import ParamImpact, impact_table
from kttui.analysis.importance import ImportanceAnalysis, analyze_importance
from kttui.analysis.seeds import SeedNoise, seed_noise
from kttui.analysis.summary import Summary, summarize
from kttui.analysis.table import TrialFrame
from kttui.analysis.topn import BaselineDiff, MatchedEffect, baseline_diff, matched_effects, top_n


@dataclass(frozen=True)
class Analysis:
    table: TrialFrame
    summary: Summary
    top: pd.DataFrame
    impacts: list[ParamImpact]
    effects: list[MatchedEffect]
    baseline: BaselineDiff | None
    coverage: Coverage
    duplicates: Duplicates
    importance: ImportanceAnalysis
    elite: EliteAnalysis
    convergence: Convergence | None
    efficiency: Efficiency
    budgets: BudgetComparison | None
    seeds: SeedNoise | None


def analyze(
    table: TrialFrame,
    *,
    top_n_rows: int = 10,
    baseline_params: Mapping[str, Any] | int | None = None,
    seed: int = 0,
) -> Analysis:
    """All analyses of ``table``; ``baseline_params`` is a param dict or a baseline trial number."""
    return Analysis(
        table=table,
        summary=summarize(table),
        top=top_n(table, top_n_rows),
        impacts=impact_table(table),
        effects=matched_effects(table),
        baseline=baseline_diff(table, baseline_params),
        coverage=coverage(table),
        duplicates=find_duplicates(table),
        importance=analyze_importance(table, seed=seed),
        elite=elite_analysis(table),
        convergence=convergence(table),
        efficiency=efficiency(table),
        budgets=compare_budgets(table),
        seeds=seed_noise(table),
    )
