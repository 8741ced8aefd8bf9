"""Model-based importances from Optuna: fANOVA (with scikit-learn) and PED-ANOVA.

Both are fed a throwaway in-memory study built from the table, so imported CSVs
get them too. Each result says its method and how many trials it saw.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kttui.analysis.table import TrialFrame
from kttui.analysis.values import canonical, is_missing

#: Below this many completed trials no importance model is fitted: a forest or a
#: Parzen estimator on a handful of points ranks params by accident.
MIN_TRIALS_IMPORTANCE = 10
#: Larger tables are sampled down to this many trials for PED-ANOVA...
MAX_IMPORTANCE_TRIALS = 2000
#: ...and to this many for fANOVA, whose forest of deep trees is the slow part.
FANOVA_MAX_TRIALS = 1000
FANOVA_TREES = 32
FANOVA_MAX_DEPTH = 8  # same importances as 16 on 1 000 trials, 9x faster
#: PED-ANOVA wants at least this many trials in its top quantile (Optuna's advice).
PED_ANOVA_MIN_TOP = 5


@dataclass(frozen=True)
class Importance:
    method: str  # "fanova" | "ped_anova"
    label: str
    percent: dict[str, float]  # param -> share of importance, sums to 100, largest first
    n_trials: int
    sampled: bool
    note: str = ""


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[Any]:
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield optuna
    finally:
        optuna.logging.set_verbosity(level)


def _distribution(table: TrialFrame, param: str, observed: list[Any]) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    info = table.info(param)
    numeric = [float(v) for v in observed if not isinstance(v, bool | str)]
    if info.kind in ("bool", "categorical") or len(numeric) != len(observed):
        declared = [canonical(c) for c in (info.choices or ())]
        choices = list(dict.fromkeys([*declared, *observed]))
        return CategoricalDistribution([_choice(c) for c in choices])
    low = min([*numeric, *([info.low] if info.low is not None else [])])
    high = max([*numeric, *([info.high] if info.high is not None else [])])
    log = info.log and low > 0
    if info.kind == "int" and all(v.is_integer() for v in numeric):
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(low, high, log=log)


def _choice(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def study_from_table(table: TrialFrame, df: pd.DataFrame, params: list[str]) -> Any:
    """An in-memory Optuna study holding ``df``'s completed trials (for optuna.importance)."""
    with _quiet_optuna() as optuna:
        observed = {p: [v for v in table.canonical_values(p, df) if v is not None] for p in params}
        dists = {p: _distribution(table, p, list(dict.fromkeys(observed[p]))) for p in params}
        trials = []
        columns = {p: list(df[p]) for p in params}
        for i, objective in enumerate(df["value"].to_numpy(dtype=float)):
            values: dict[str, Any] = {}
            for p in params:
                v = columns[p][i]
                if is_missing(v):
                    continue
                kind = type(dists[p]).__name__
                if kind == "CategoricalDistribution":
                    values[p] = _choice(canonical(v))
                elif kind == "IntDistribution":
                    values[p] = int(float(v))
                else:
                    values[p] = float(v)
            trials.append(
                optuna.trial.create_trial(
                    params=values,
                    distributions={p: dists[p] for p in values},
                    value=float(objective),
                )
            )
        study = optuna.create_study(direction=table.direction)
        study.add_trials(trials)
        return study


def model_importances(
    table: TrialFrame,
    *,
    max_trials: int = MAX_IMPORTANCE_TRIALS,
    n_trees: int = FANOVA_TREES,
    seed: int = 0,
) -> tuple[list[Importance], dict[str, str]]:
    """fANOVA and PED-ANOVA importances in percent; the second item says what was skipped."""
    done = table.completed
    if len(done) < MIN_TRIALS_IMPORTANCE:
        reason = f"only {len(done)} completed trials (< {MIN_TRIALS_IMPORTANCE})"
        return [], {"fanova": reason, "ped_anova": reason}
    varied = [p for p in table.params if p in done.columns and len(table.distinct(p, done)) > 1]
    if not varied:
        reason = "no param varies across completed trials"
        return [], {"fanova": reason, "ped_anova": reason}
    if np.ptp(done["value"].to_numpy(dtype=float)) == 0:
        reason = "every completed trial has the same value"
        return [], {"fanova": reason, "ped_anova": reason}
    results: list[Importance] = []
    unavailable: dict[str, str] = {}
    fanova = _fanova(table, done, varied, min(max_trials, FANOVA_MAX_TRIALS), n_trees, seed)
    if isinstance(fanova, str):
        unavailable["fanova"] = fanova
    else:
        results.append(fanova)
    ped = _ped_anova(table, done, varied, max_trials, seed)
    if isinstance(ped, str):
        unavailable["ped_anova"] = ped
    else:
        results.append(ped)
    return results, unavailable


def _sample(done: pd.DataFrame, limit: int, seed: int) -> tuple[pd.DataFrame, str]:
    if len(done) <= limit:
        return done, ""
    return done.sample(limit, random_state=seed), f"sampled {limit} of {len(done)} completed trials"


def _fanova(
    table: TrialFrame, done: pd.DataFrame, varied: list[str], limit: int, n_trees: int, seed: int
) -> Importance | str:
    """fANOVA over the params every trial has (it cannot handle conditional ones)."""
    df, note = _sample(done, limit, seed)
    always = [p for p in varied if df[p].notna().all()]
    if not always:
        return "every varied param is conditional (missing in some trials)"
    skipped = [p for p in varied if p not in always]
    if skipped:
        note = "; ".join(
            n for n in (note, f"conditional params left out: {', '.join(skipped)}") if n
        )
    with _quiet_optuna() as optuna:
        try:
            evaluator = optuna.importance.FanovaImportanceEvaluator(
                n_trees=n_trees, max_depth=FANOVA_MAX_DEPTH, seed=seed
            )
            study = study_from_table(table, df, always)
            raw = optuna.importance.get_param_importances(study, evaluator=evaluator, params=always)
        except ImportError:
            return "needs scikit-learn, which is not installed"
        except Exception as exc:  # a numerical failure must not take the report down
            return f"failed: {exc}"
    label = f"fANOVA ({n_trees} trees)"
    return Importance("fanova", label, _percent(raw, varied), len(df), bool(note), note)


def _ped_anova(
    table: TrialFrame, done: pd.DataFrame, varied: list[str], limit: int, seed: int
) -> Importance | str:
    """PED-ANOVA: which params matter for reaching the top quantile (conditional params too)."""
    df, note = _sample(done, limit, seed)
    quantile = min(0.5, max(0.1, PED_ANOVA_MIN_TOP / len(df)))
    with _quiet_optuna() as optuna:
        try:
            study = study_from_table(table, df, varied)
            evaluator = optuna.importance.PedAnovaImportanceEvaluator(target_quantile=quantile)
            raw = optuna.importance.get_param_importances(study, evaluator=evaluator, params=varied)
        except Exception as exc:  # as above
            return f"failed: {exc}"
    label = f"PED-ANOVA (top {quantile:.0%})"
    return Importance("ped_anova", label, _percent(raw, varied), len(df), bool(note), note)


def _percent(raw: dict[str, float], params: list[str]) -> dict[str, float]:
    total = sum(v for v in raw.values() if math.isfinite(v))
    if total <= 0:
        return dict.fromkeys(params, 0.0)
    scaled = {p: 100.0 * raw.get(p, 0.0) / total for p in params}
    return dict(sorted(scaled.items(), key=lambda kv: -kv[1]))
