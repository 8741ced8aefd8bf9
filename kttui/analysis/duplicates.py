"""Identical configs evaluated more than once: the trials a sampler wasted.

TPE on a small discrete space happily re-proposes the same point (seed 002 lost
18 of 50 trials that way). Repeats at a different seed or budget are deliberate,
so seed and budget are part of what makes two trials "the same".
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from kttui.analysis.table import TrialFrame


@dataclass(frozen=True)
class DuplicateGroup:
    params: dict[str, Any]
    numbers: list[int]
    values: list[float]  # NaN for trials without a result

    @property
    def n(self) -> int:
        return len(self.numbers)

    @property
    def spread(self) -> float:
        """max - min of the results: the noise of repeating the very same run."""
        finite = [v for v in self.values if math.isfinite(v)]
        return max(finite) - min(finite) if len(finite) > 1 else math.nan

    @property
    def mean(self) -> float:
        finite = [v for v in self.values if math.isfinite(v)]
        return float(np.mean(finite)) if finite else math.nan


@dataclass(frozen=True)
class Duplicates:
    n_trials: int
    n_unique: int
    groups: list[DuplicateGroup]  # largest first
    keyed_on: list[str]  # params plus seed/budget when present

    @property
    def n_wasted(self) -> int:
        return self.n_trials - self.n_unique

    @property
    def share_wasted(self) -> float:
        return self.n_wasted / self.n_trials if self.n_trials else math.nan


def find_duplicates(table: TrialFrame) -> Duplicates:
    """Group all trials (any state) by their config; groups of two or more are duplicates."""
    df = table.df
    keyed_on = [*table.params, *[c for c in ("seed", "budget") if table.has_column(c)]]
    keys = table.config_keys(df, keyed_on)
    positions: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        positions[key].append(i)
    numbers = df["number"].to_numpy()
    values = df["value"].to_numpy(dtype=float)
    groups = [
        DuplicateGroup(
            params=table.config_of(df.iloc[rows[0]]),
            numbers=[int(numbers[i]) for i in rows],
            values=[float(values[i]) for i in rows],
        )
        for rows in positions.values()
        if len(rows) > 1
    ]
    groups.sort(key=lambda g: (-g.n, g.numbers[0]))
    return Duplicates(n_trials=len(df), n_unique=len(positions), groups=groups, keyed_on=keyed_on)
