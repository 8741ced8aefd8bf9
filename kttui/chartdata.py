"""What the console's charts draw, computed from trial rows and the report's analyses.

The chart widgets only draw; every number they show comes from here, so the
edge cases (no trial, one point, NaN or infinite values) are handled and tested
once, without a terminal. Importance is the report's own computation
(:mod:`kttui.analysis.importance`), read into bars; nothing here imports pandas
at module level, so the console starts fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kttui.best import finite, ranked, running_best
from kttui.service.rows import TrialRow

if TYPE_CHECKING:
    from kttui.analysis.importance import ImportanceAnalysis

#: Learning curves of this many best trials are overlaid by default.
TOP_K = 5


def clean_series(points: Iterable[tuple[Any, Any]]) -> tuple[list[float], list[float]]:
    """xs and ys of the points whose x and y are both finite numbers."""
    xs: list[float] = []
    ys: list[float] = []
    for x, y in points:
        if finite(x) and finite(y):
            xs.append(float(x))
            ys.append(float(y))
    return xs, ys


def int_ticks(lo: float, hi: float, most: int = 6) -> list[int]:
    """At most ``most`` round integer ticks covering [lo, hi] (epochs, trial numbers)."""
    if not (finite(lo) and finite(hi)):
        return []
    a, b = math.floor(min(lo, hi)), math.ceil(max(lo, hi))
    span = b - a
    if span == 0:
        return [a]
    steps = sorted(b * 10**e for b in (1, 2, 5) for e in range(12))
    step = next((s for s in steps if span / s <= most - 1), span)
    start = math.ceil(a / step) * step
    return list(range(start, b + 1, step)) or [a]


def best_so_far(rows: Iterable[TrialRow], maximize: bool) -> list[tuple[int, float]]:
    """(trial number, best value so far) over completed trials in trial order."""
    done = [r for r in sorted(rows, key=lambda r: r.number) if r.state == "complete"]
    done = [r for r in done if finite(r.value)]
    bests = running_best([r.value for r in done], maximize)
    return [(r.number, b) for r, b in zip(done, bests, strict=True) if b is not None]


def completed_points(rows: Iterable[TrialRow]) -> list[tuple[int, float]]:
    """(trial number, value) of completed trials with a finite value, in trial order."""
    return sorted(
        (r.number, float(r.value))  # type: ignore[arg-type]
        for r in rows
        if r.state == "complete" and finite(r.value)
    )


def _ordinal(values: Sequence[Any]) -> tuple[list[float], list[str] | None]:
    """Values as numbers; anything else becomes its rank in sorted order (labels returned)."""
    if all(finite(v) for v in values):
        return [float(v) for v in values], None
    labels = sorted({str(v) for v in values})
    index = {label: i for i, label in enumerate(labels)}
    return [float(index[str(v)]) for v in values], labels


def slice_points(
    rows: Iterable[TrialRow], param: str, *, log: bool = False
) -> tuple[list[float], list[float], list[str] | None]:
    """x (the param, as numbers) and y (the objective) of completed trials.

    With ``log`` (a ``log: true`` param) points at x <= 0 are left out, since
    a log axis cannot show them.
    """
    pairs = [
        (r.param(param), float(r.value))  # type: ignore[arg-type]
        for r in rows
        if r.state == "complete" and finite(r.value) and r.param(param) is not None
    ]
    if not pairs:
        return [], [], None
    xs, labels = _ordinal([p[0] for p in pairs])
    out = [(x, p[1]) for x, p in zip(xs, pairs, strict=True) if finite(x)]
    if log and labels is None:
        out = [(x, y) for x, y in out if x > 0]
    return [x for x, _ in out], [y for _, y in out], labels


def rank_value(row: TrialRow) -> float | None:
    """What ranks a trial for the top K: its final value, else its best epoch so far."""
    for v in (row.value, row.best):
        if finite(v):
            return float(v)  # type: ignore[arg-type]
    return None


def top_trials(rows: Iterable[TrialRow], k: int, maximize: bool) -> list[int]:
    """The ``k`` best trials (completed or still running), best first."""
    shown = sorted(
        (r for r in rows if r.state in ("complete", "running", "pruned")), key=lambda r: r.number
    )
    return [r.number for r in ranked(shown, rank_value, maximize)[: max(0, k)]]


def curve_numbers(
    rows: Mapping[int, TrialRow],
    curves: Mapping[int, Sequence[tuple[int, float]]],
    selected: int | None,
    k: int,
    maximize: bool,
) -> list[int]:
    """Trials whose learning curves are overlaid: the top ``k`` with a curve, then the selected."""
    top = [n for n in top_trials(rows.values(), k, maximize) if curves.get(n)]
    if selected is not None and curves.get(selected):
        top = [n for n in top if n != selected] + [selected]
    return top


@dataclass(frozen=True)
class ChartImportance:
    """Bars for the importance chart and the method that produced them."""

    method: str  # "fANOVA ..." or "|Spearman ρ|"
    bars: tuple[tuple[str, float], ...]  # (param, score), largest first
    n: int  # completed trials behind it
    note: str = ""


def chart_importance(analysis: ImportanceAnalysis | None) -> ChartImportance | None:
    """The report's importance as chart bars: its first model (fANOVA), else |Spearman ρ|.

    Both come from :func:`kttui.analysis.importance.analyze_importance`, which
    leaves out params that never varied; None when neither could be computed.
    """
    if analysis is None:
        return None
    model = analysis.primary  # the report's chart and "Top param" rank by this one too
    if model is not None and model.percent:
        bars = tuple((p, v) for p, v in model.percent.items() if finite(v))
        share = "% of variance" if model.method == "fanova" else "% of importance"
        return ChartImportance(f"{model.label}, {share}", bars, model.n_trials, model.note)
    corr = [
        (d.correlation.param, abs(d.correlation.rho), d.correlation.n)
        for d in analysis.correlations
        if finite(d.correlation.rho)
    ]
    if not corr:
        return None
    why = analysis.unavailable.get("fanova", "")
    bars = tuple(sorted(((p, s) for p, s, _ in corr), key=lambda t: -t[1]))
    return ChartImportance("|Spearman ρ|", bars, max(n for _, _, n in corr), why)
