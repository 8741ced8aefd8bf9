"""Headline numbers of a sweep: how many trials ended how, the best, the spread, the cost.

Statistics use completed trials only; a trial that never produced a value must
not count as "worse than baseline" (seed 000 divided by all 26 trials while only
24 had a result).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kttui.analysis.table import STATES, TrialFrame
from kttui.analysis.values import VALUE_DIGITS, decimals_of


@dataclass(frozen=True)
class BaselineCount:
    """Completed trials relative to the baseline value (ties are their own row)."""

    baseline: float
    n_better: int
    n_equal: int
    n_worse: int
    n_compared: int

    @property
    def share_better(self) -> float:
        return self.n_better / self.n_compared if self.n_compared else math.nan


@dataclass(frozen=True)
class Summary:
    n_total: int
    counts: dict[str, int]
    n_valued: int
    best_value: float
    best_number: int | None
    best_params: dict[str, Any] = field(default_factory=dict)
    mean: float = math.nan
    std: float = math.nan
    median: float = math.nan
    min: float = math.nan
    max: float = math.nan
    total_time_s: float = math.nan
    mean_time_s: float = math.nan
    median_time_s: float = math.nan
    baseline: float | None = None
    target: float | None = None
    improvement_over_baseline: float = math.nan
    gap_to_target: float = math.nan
    target_reached: bool | None = None
    vs_baseline: BaselineCount | None = None
    #: the objective's precision in this sweep: every number in its units uses it
    decimals: int | None = VALUE_DIGITS

    @property
    def range(self) -> float:
        return self.max - self.min

    @property
    def n_complete(self) -> int:
        return self.counts.get("complete", 0)


def summarize(table: TrialFrame) -> Summary:
    """Counts by state, best, spread (sample std, ddof=1), time, and baseline/target gaps."""
    df = table.df
    counts: dict[str, int] = {state: int((df["state"] == state).sum()) for state in STATES}
    done = table.completed
    values = done["value"].to_numpy(dtype=float)
    durations = df["duration_s"].to_numpy(dtype=float)
    durations = durations[np.isfinite(durations)]
    n = len(values)
    best_value = math.nan
    best_number: int | None = None
    best_params: dict[str, Any] = {}
    if n:
        best_row = table.ranked(done).iloc[0]
        best_value = float(best_row["value"])
        best_number = int(best_row["number"])
        best_params = table.config_of(best_row)
    improvement = math.nan
    vs_baseline: BaselineCount | None = None
    if table.baseline is not None and n:
        improvement = (best_value - table.baseline) * table.sign
        diff = (values - table.baseline) * table.sign
        vs_baseline = BaselineCount(
            baseline=table.baseline,
            n_better=int((diff > 0).sum()),
            n_equal=int((diff == 0).sum()),
            n_worse=int((diff < 0).sum()),
            n_compared=n,
        )
    gap = math.nan
    reached: bool | None = None
    if table.target is not None and n:
        gap = max(0.0, (table.target - best_value) * table.sign)
        reached = (best_value - table.target) * table.sign >= 0
    with np.errstate(over="ignore"):  # 1e308 objectives: an inf spread, not a warning
        mean = float(values.mean()) if n else math.nan
        std = float(values.std(ddof=1)) if n > 1 else math.nan
    return Summary(
        n_total=len(df),
        counts=counts,
        n_valued=n,
        best_value=best_value,
        best_number=best_number,
        best_params=best_params,
        mean=mean,
        std=std,
        median=float(np.median(values)) if n else math.nan,
        min=float(values.min()) if n else math.nan,
        max=float(values.max()) if n else math.nan,
        total_time_s=float(durations.sum()) if len(durations) else math.nan,
        mean_time_s=float(durations.mean()) if len(durations) else math.nan,
        median_time_s=float(np.median(durations)) if len(durations) else math.nan,
        baseline=table.baseline,
        target=table.target,
        improvement_over_baseline=improvement,
        gap_to_target=gap,
        target_reached=reached,
        vs_baseline=vs_baseline,
        decimals=decimals_of(values),
    )
