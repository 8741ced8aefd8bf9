"""Top-N configs, the best-vs-baseline diff, and what each change is measured to be worth.

An "improvement breakdown" is only honest when every line rests on trials that
differ in exactly that one param (a matched pair). Seed 000 credited
``d_ff 512 -> 1536`` with +0.0014 although d_ff=512 was never run, and
``learning_rate 0.000174 -> 0.0001`` with -0.0028 although the learning rate was
never varied; here such lines say "no evidence" instead of a number.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kttui.analysis.table import TrialFrame
from kttui.analysis.values import canonical
from kttui.safetext import format_value, is_missing, sort_key


def top_n(table: TrialFrame, n: int = 10) -> pd.DataFrame:
    """The best ``n`` completed trials, ranked, with params and extra metrics as columns."""
    ranked = table.ranked().head(n)
    extra = [c for c in ("budget", "seed") if table.has_column(c)]
    columns = [
        "number",
        "value",
        *table.params,
        *extra,
        *table.metric_columns,
        "duration_s",
        "epochs",
    ]
    out = ranked.loc[:, [c for c in columns if c in ranked.columns]].copy()
    out.insert(0, "rank", range(1, len(out) + 1))
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class MatchedEffect:
    """Mean change of the objective when ``param`` goes from ``from_value`` to ``to_value``.

    Each pair is two configs identical in every other param (repeats averaged).
    """

    param: str
    from_value: Any
    to_value: Any
    n_pairs: int
    mean: float
    median: float
    std: float
    min: float
    max: float

    def reversed(self) -> MatchedEffect:
        return MatchedEffect(
            self.param,
            self.to_value,
            self.from_value,
            self.n_pairs,
            -self.mean,
            -self.median,
            self.std,
            -self.max,
            -self.min,
        )


def matched_effects(table: TrialFrame, params: list[str] | None = None) -> list[MatchedEffect]:
    """All one-param-changes backed by matched pairs, each oriented from lower to higher value.

    Trials at different budgets are never paired; repeats (seeds) of a config are averaged.
    """
    done = table.completed
    names = table.params if params is None else params
    context = [c for c in ("budget",) if table.has_column(c)]
    all_keys = table.config_keys(done, [*table.params, *context])
    values = done["value"].to_numpy(dtype=float)
    effects: list[MatchedEffect] = []
    for p in names:
        pos = table.params.index(p)
        cells: dict[tuple[Any, ...], dict[Any, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for key, value in zip(all_keys, values, strict=True):
            if key[pos] is None:
                continue
            rest = key[:pos] + key[pos + 1 :]
            cells[rest][key[pos]].append(float(value))
        diffs: dict[tuple[Any, Any], list[float]] = defaultdict(list)
        for by_value in cells.values():
            if len(by_value) < 2:
                continue
            ordered = sorted(by_value, key=sort_key)
            # plain sums: np.mean on thousands of 1-element lists dominates big reports
            means = {v: math.fsum(by_value[v]) / len(by_value[v]) for v in ordered}
            for i, u in enumerate(ordered):
                for v in ordered[i + 1 :]:
                    diffs[(u, v)].append(means[v] - means[u])
        for (u, v), d in sorted(
            diffs.items(), key=lambda kv: (sort_key(kv[0][0]), sort_key(kv[0][1]))
        ):
            arr = np.array(d)
            effects.append(
                MatchedEffect(
                    param=p,
                    from_value=u,
                    to_value=v,
                    n_pairs=len(arr),
                    mean=float(arr.mean()),
                    median=float(np.median(arr)),
                    std=float(arr.std(ddof=1)) if len(arr) > 1 else math.nan,
                    min=float(arr.min()),
                    max=float(arr.max()),
                )
            )
    return effects


def find_effect(
    effects: list[MatchedEffect], param: str, from_value: Any, to_value: Any
) -> MatchedEffect | None:
    """The effect of ``from_value -> to_value``, flipping a stored ``to -> from`` effect."""
    u, v = canonical(from_value), canonical(to_value)
    for e in effects:
        if e.param != param:
            continue
        if e.from_value == u and e.to_value == v:
            return e
        if e.from_value == v and e.to_value == u:
            return e.reversed()
    return None


@dataclass(frozen=True)
class ParamChange:
    param: str
    baseline: Any
    best: Any
    changed: bool | None  # None when one side is unknown


@dataclass(frozen=True)
class BreakdownRow:
    param: str
    from_value: Any
    to_value: Any
    effect: MatchedEffect | None
    reason: str  # why there is no effect, or "" when there is one


@dataclass(frozen=True)
class BaselineDiff:
    source: str  # "params" or "trial #N"
    baseline_params: dict[str, Any]
    baseline_value: float | None
    best_number: int
    best_value: float
    changes: list[ParamChange]
    breakdown: list[BreakdownRow] = field(default_factory=list)

    @property
    def delta(self) -> float:
        """best - baseline in objective units (sign as measured)."""
        if self.baseline_value is None:
            return math.nan
        return self.best_value - self.baseline_value

    @property
    def explained(self) -> float:
        """Sum of the matched mean effects (assumes the effects add up)."""
        known = [r.effect.mean for r in self.breakdown if r.effect is not None]
        return float(sum(known)) if known else math.nan


def baseline_diff(
    table: TrialFrame, baseline: Mapping[str, Any] | int | None
) -> BaselineDiff | None:
    """Compare the best config with the baseline (a param dict, or a trial number)."""
    ranked = table.ranked()
    if baseline is None or ranked.empty:
        return None
    best = ranked.iloc[0]
    if isinstance(baseline, Mapping):
        base_params = dict(baseline)
        base_value = table.baseline
        source = "params"
    else:
        rows = table.df[table.df["number"] == int(baseline)]
        if rows.empty:
            return None
        row = rows.iloc[0]
        base_params = table.config_of(row)
        base_value = float(row["value"]) if math.isfinite(float(row["value"])) else table.baseline
        source = f"trial #{int(baseline)}"
    best_params = {**table.fixed, **table.config_of(best)}
    names = [*table.params, *[k for k in base_params if k not in table.params]]
    changes: list[ParamChange] = []
    for p in names:
        b = base_params.get(p)
        v = best_params.get(p)
        known = not is_missing(b) and not is_missing(v)
        changes.append(ParamChange(p, b, v, canonical(b) != canonical(v) if known else None))
    effects = matched_effects(
        table, [c.param for c in changes if c.changed and c.param in table.params]
    )
    breakdown = [_breakdown_row(table, effects, c) for c in changes if c.changed]
    return BaselineDiff(
        source=source,
        baseline_params=base_params,
        baseline_value=base_value,
        best_number=int(best["number"]),
        best_value=float(best["value"]),
        changes=changes,
        breakdown=breakdown,
    )


def _breakdown_row(
    table: TrialFrame, effects: list[MatchedEffect], change: ParamChange
) -> BreakdownRow:
    p, u, v = change.param, change.baseline, change.best
    if p not in table.params:
        return BreakdownRow(p, u, v, None, f"{p} is not a param of this sweep")
    tested = table.distinct(p, table.completed)
    if len(tested) < 2:
        return BreakdownRow(p, u, v, None, f"{p} was never varied (always {_list(tested)})")
    if canonical(u) not in tested:
        return BreakdownRow(
            p, u, v, None, f"{p}={format_value(u)} was never tested (tested: {_list(tested)})"
        )
    effect = find_effect(effects, p, u, v)
    if effect is None:
        return BreakdownRow(
            p,
            u,
            v,
            None,
            f"no two trials differ only in {p} ({format_value(u)} vs {format_value(v)})",
        )
    return BreakdownRow(p, u, v, effect, "")


def _list(values: list[Any], limit: int = 6) -> str:
    shown = ", ".join(format_value(v) for v in values[:limit]) or "—"
    return shown + (f", … ({len(values)} values)" if len(values) > limit else "")


def effects_frame(effects: list[MatchedEffect]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "param": e.param,
                "from": format_value(e.from_value),
                "to": format_value(e.to_value),
                "n_pairs": e.n_pairs,
                "mean": e.mean,
                "median": e.median,
                "std": e.std,
                "min": e.min,
                "max": e.max,
            }
            for e in effects
        ],
        columns=["param", "from", "to", "n_pairs", "mean", "median", "std", "min", "max"],
    )
