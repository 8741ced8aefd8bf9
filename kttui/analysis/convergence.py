"""Did the search settle, and what did pruning save?

The best-so-far curve answers "would more trials help": if 95 % of the total
improvement came early and nothing improved since, the space (not the budget)
is the limit. Pruning savings are estimated from the epochs a pruned trial did
not run, against the longest completed trial.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kttui.analysis.table import TrialFrame

#: Share of the total improvement that counts as "converged".
CONVERGED_SHARE = 0.95


@dataclass(frozen=True)
class Convergence:
    curve: pd.DataFrame  # columns: number, value, best_so_far (completed trials, in trial order)
    best_number: int
    best_position: int  # 1-based position of the best among completed trials
    n_completed: int
    first_value: float
    best_value: float
    number_at_95: int  # trial number at which 95 % of the improvement was reached
    position_at_95: int
    trials_since_best: int  # completed trials after the best one

    @property
    def improvement(self) -> float:
        return abs(self.best_value - self.first_value)


@dataclass(frozen=True)
class Efficiency:
    n_pruned: int
    pruned_share: float  # of trials that ended (complete + pruned + fail)
    max_epochs: float  # longest completed trial, in epochs (NaN if unknown)
    epochs_run: float  # by all trials
    epochs_saved: float  # estimate: what pruned trials would have run to max_epochs
    time_saved_s: float  # estimate from each pruned trial's own seconds per epoch

    @property
    def share_saved(self) -> float:
        total = self.epochs_run + self.epochs_saved
        return self.epochs_saved / total if total > 0 else math.nan


def convergence(table: TrialFrame) -> Convergence | None:
    done = table.completed.sort_values("number")
    if done.empty:
        return None
    values = done["value"].to_numpy(dtype=float)
    goodness = values * table.sign
    best_so_far = np.maximum.accumulate(goodness) * table.sign
    curve = pd.DataFrame(
        {"number": done["number"].to_numpy(), "value": values, "best_so_far": best_so_far}
    )
    best_pos = int(np.argmax(goodness))
    first, best = float(best_so_far[0]), float(values[best_pos])
    total = (best - first) * table.sign
    if total > 0:
        gained = (best_so_far - first) * table.sign
        pos_95 = int(np.argmax(gained >= CONVERGED_SHARE * total))
    else:
        pos_95 = 0
    numbers = curve["number"].to_numpy()
    return Convergence(
        curve=curve,
        best_number=int(numbers[best_pos]),
        best_position=best_pos + 1,
        n_completed=len(values),
        first_value=first,
        best_value=best,
        number_at_95=int(numbers[pos_95]),
        position_at_95=pos_95 + 1,
        trials_since_best=len(values) - best_pos - 1,
    )


def efficiency(table: TrialFrame) -> Efficiency:
    df = table.df
    ended = df[df["state"].isin(["complete", "pruned", "fail"])]
    pruned = df[df["state"] == "pruned"]
    epochs = df["epochs"].astype(float)
    complete_epochs = epochs[df["state"] == "complete"]
    max_epochs = float(complete_epochs.max()) if complete_epochs.notna().any() else math.nan
    epochs_run = float(epochs.sum(min_count=1)) if epochs.notna().any() else math.nan
    saved = math.nan
    time_saved = math.nan
    if math.isfinite(max_epochs) and len(pruned):
        p_epochs = pruned["epochs"].astype(float)
        known = p_epochs.notna()
        missing_epochs = (max_epochs - p_epochs[known]).clip(lower=0)
        saved = float(missing_epochs.sum())
        per_epoch = pruned["duration_s"].astype(float)[known] / p_epochs[known].replace(0, np.nan)
        fallback = _median_seconds_per_epoch(table)
        per_epoch = per_epoch.fillna(fallback)
        time_saved = float((missing_epochs * per_epoch).sum(min_count=1))
    elif len(pruned) == 0:
        saved, time_saved = 0.0, 0.0
    return Efficiency(
        n_pruned=len(pruned),
        pruned_share=len(pruned) / len(ended) if len(ended) else math.nan,
        max_epochs=max_epochs,
        epochs_run=epochs_run,
        epochs_saved=saved,
        time_saved_s=time_saved,
    )


def _median_seconds_per_epoch(table: TrialFrame) -> float:
    done = table.df[table.df["state"] == "complete"]
    rate = done["duration_s"].astype(float) / done["epochs"].astype(float).replace(0, np.nan)
    rate = rate[np.isfinite(rate)]
    return float(rate.median()) if len(rate) else math.nan
