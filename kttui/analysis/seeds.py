"""Is the winner's lead bigger than the noise of re-running it?

When configs ran with several seeds, each gets mean +- std, and the gap between
the two best is compared with the seed noise (Welch's t-test). Without a seed
column, exact repeats of a config are used the same way: seed 000's config
(d_ff=1024, dropout=0.1, 4 blocks) scored 0.7171 and 0.7021, a spread ten
times the gap between its top five configs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from kttui.analysis.significance import Tier, tier
from kttui.analysis.table import TrialFrame
from kttui.analysis.values import plain


@dataclass(frozen=True)
class ConfigRuns:
    params: dict[str, Any]
    numbers: list[int]
    values: list[float]
    context: dict[str, Any] = field(default_factory=dict)  # e.g. the budget the runs share

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if self.n > 1 else math.nan


@dataclass(frozen=True)
class SeedNoise:
    source: str  # "seed column" or "exact repeats"
    configs: list[ConfigRuns]  # configs with >= 2 runs, best mean first
    noise_std: float  # pooled within-config standard deviation
    top_gap: float  # mean of best config - mean of runner-up (objective units, >= 0 when better)
    p_value: float  # Welch's t-test between the two best configs
    n_configs_total: int

    @property
    def tier(self) -> Tier:
        return tier(self.p_value)

    @property
    def gap_exceeds_noise(self) -> bool | None:
        if not (math.isfinite(self.top_gap) and math.isfinite(self.noise_std)):
            return None
        return self.top_gap > self.noise_std


def seed_noise(table: TrialFrame) -> SeedNoise | None:
    """None when no config has two or more completed runs."""
    done = table.completed
    source = "seed column" if table.has_column("seed") else "exact repeats"
    context = [c for c in ("budget",) if table.has_column(c)]
    keys = table.config_keys(done, [*table.params, *context])
    runs: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        runs[key].append(i)
    values = done["value"].to_numpy(dtype=float)
    numbers = done["number"].to_numpy()
    configs = [
        ConfigRuns(
            params=table.config_of(done.iloc[rows[0]]),
            numbers=[int(numbers[i]) for i in rows],
            values=[float(values[i]) for i in rows],
            context={c: plain(done.iloc[rows[0]][c]) for c in context},
        )
        for rows in runs.values()
        if len(rows) > 1
    ]
    if not configs:
        return None
    configs.sort(key=lambda c: -c.mean * table.sign)
    dof = sum(c.n - 1 for c in configs)
    pooled = math.sqrt(sum((c.n - 1) * c.std**2 for c in configs) / dof) if dof else math.nan
    gap, p = math.nan, math.nan
    if len(configs) > 1:
        a, b = configs[0], configs[1]
        gap = (a.mean - b.mean) * table.sign
        if np.ptp(a.values + b.values) > 0:
            with np.errstate(all="ignore"):
                p = float(stats.ttest_ind(a.values, b.values, equal_var=False).pvalue)
    return SeedNoise(source, configs, pooled, gap, p, len(runs))
