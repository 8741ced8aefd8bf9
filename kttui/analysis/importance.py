"""Which params matter, in which direction, and how sure we can be.

Importances come from Optuna (fANOVA when scikit-learn is installed, PED-ANOVA
always) fed by a throwaway in-memory study built from the table, so imported
CSVs get them too. Directionality is Spearman's rho for ordered params and a
rank test (Mann-Whitney for two groups, Kruskal-Wallis for more) for
categories; every result carries its p-value tier so the wording can hedge.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from kttui.analysis.impact import group_labels
from kttui.analysis.table import TrialTable
from kttui.analysis.values import canonical, is_missing

#: Below this many completed trials no importance model is fitted: a forest or a
#: Parzen estimator on a handful of points ranks params by accident.
MIN_TRIALS_IMPORTANCE = 10
#: Below this many points Spearman's rho is not reported as a trend: one trial can
#: flip its sign, and the p-value's approximation is poor.
MIN_TRIALS_CORRELATION = 8
#: Groups smaller than this are left out of the rank tests (and named in a warning).
MIN_GROUP_SIZE = 3
#: Larger tables are sampled down to this many trials for PED-ANOVA...
MAX_IMPORTANCE_TRIALS = 2000
#: ...and to this many for fANOVA, whose forest of deep trees is the slow part.
FANOVA_MAX_TRIALS = 1000
FANOVA_TREES = 32
FANOVA_MAX_DEPTH = 8  # same importances as 16 on 1 000 trials, 9x faster
#: PED-ANOVA wants at least this many trials in its top quantile (Optuna's advice).
PED_ANOVA_MIN_TOP = 5

Tier = Literal["p<0.05", "p<0.10", "n.s."]


def tier(p_value: float) -> Tier:
    if not math.isfinite(p_value) or p_value >= 0.10:
        return "n.s."
    return "p<0.05" if p_value < 0.05 else "p<0.10"


@dataclass(frozen=True)
class Importance:
    method: str  # "fanova" | "ped_anova"
    label: str
    percent: dict[str, float]  # param -> share of importance, sums to 100, largest first
    n_trials: int
    sampled: bool
    note: str = ""


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


# --------------------------------------------------------------------- tests
def spearman(table: TrialTable) -> tuple[list[Directional], list[str]]:
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


def group_tests(table: TrialTable) -> tuple[list[GroupComparison], list[str]]:
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


# --------------------------------------------------------------- importances
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


def _distribution(table: TrialTable, param: str, observed: list[Any]) -> Any:
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


def study_from_table(table: TrialTable, df: pd.DataFrame, params: list[str]) -> Any:
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
    table: TrialTable,
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
    table: TrialTable, done: pd.DataFrame, varied: list[str], limit: int, n_trees: int, seed: int
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
    table: TrialTable, done: pd.DataFrame, varied: list[str], limit: int, seed: int
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


def analyze_importance(table: TrialTable, *, seed: int = 0) -> ImportanceAnalysis:
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
