"""Per-value impact of each param: mean/best/worst/N, share of the top-K, value frequencies.

This is the table researchers write first (seeds 000, 001, 002). N counts only
trials with a result; trials without one are reported beside it, never mixed in.
Continuous params are binned (quantile bins, or log-spaced bins for log-scaled
params) so that each row still holds enough trials to mean something.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kttui.analysis.table import TrialFrame
from kttui.safetext import format_value, sort_key

#: A param with at most this many distinct values gets one row per value.
MAX_LEVELS = 12
#: Continuous params are cut into this many bins.
N_BINS = 5
#: Default elite/top share for "share of top-K" (seed 001 used the top 60 of 250).
TOP_FRACTION = 0.25
OTHER_LABEL = "(other)"


@dataclass(frozen=True)
class ValueImpact:
    label: str
    value: Any  # the canonical value, or (low, high) of a bin
    n: int  # completed trials with a value
    n_no_result: int  # trials with this value and no result (pruned, failed, running...)
    mean: float
    std: float
    median: float
    best: float
    worst: float
    top_count: int
    top_share: float  # share of the top-K trials that have this value
    frequency: int  # all trials with this value
    frequency_share: float


@dataclass(frozen=True)
class ParamImpact:
    param: str
    kind: str
    binned: bool
    top_k: int
    rows: list[ValueImpact]
    best_label: str | None  # highest mean (by direction) among values with n >= 1
    worst_label: str | None
    spread: float  # |best mean - worst mean|; NaN when fewer than two values have results

    @property
    def varied(self) -> bool:
        return len(self.rows) > 1


def default_top_k(n_complete: int, fraction: float = TOP_FRACTION) -> int:
    return max(1, math.ceil(fraction * n_complete)) if n_complete else 0


def group_labels(table: TrialFrame, param: str) -> tuple[pd.Series, list[tuple[str, Any]]]:
    """Assign every trial of ``table.df`` to a value (or bin) of ``param``.

    Returns the label per row (None where the param is missing) and the ordered
    ``(label, value)`` groups.
    """
    canon = table.canonical_values(param)
    distinct = sorted({c for c in canon if c is not None}, key=sort_key)
    if len(distinct) <= MAX_LEVELS:
        labels = [format_value(c) if c is not None else None for c in canon]
        return pd.Series(labels, index=table.df.index, dtype=object), [
            (format_value(v), v) for v in distinct
        ]
    if table.is_numeric(param):
        return _numeric_bins(table, param, canon)
    counts = Counter(c for c in canon if c is not None)
    keep = {v for v, _ in counts.most_common(MAX_LEVELS - 1)}
    labels = [None if c is None else (format_value(c) if c in keep else OTHER_LABEL) for c in canon]
    groups = [(format_value(v), v) for v in sorted(keep, key=sort_key)]
    groups.append((OTHER_LABEL, None))
    return pd.Series(labels, index=table.df.index, dtype=object), groups


def _numeric_bins(
    table: TrialFrame, param: str, canon: list[Any]
) -> tuple[pd.Series, list[tuple[str, Any]]]:
    x = np.array([np.nan if c is None else float(c) for c in canon])
    finite = x[np.isfinite(x)]
    lo, hi = float(finite.min()), float(finite.max())
    info = table.info(param)
    if info.log and lo > 0:
        edges = np.geomspace(lo, hi, N_BINS + 1)
    else:
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, N_BINS + 1)))
    edges[0], edges[-1] = lo, hi
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    names = []
    for i in range(len(edges) - 1):
        close = "]" if i == len(edges) - 2 else ")"
        names.append(f"[{format_value(edges[i])}, {format_value(edges[i + 1])}{close}")
    labels = [names[int(i)] if np.isfinite(v) else None for i, v in zip(idx, x, strict=True)]
    groups = [(names[i], (float(edges[i]), float(edges[i + 1]))) for i in range(len(names))]
    return pd.Series(labels, index=table.df.index, dtype=object), groups


def param_impact(table: TrialFrame, param: str, *, top_k: int | None = None) -> ParamImpact:
    df = table.df
    labels, groups = group_labels(table, param)
    done_mask = df.index.isin(table.completed.index)
    values = df["value"].astype(float)
    ranked = table.ranked()
    k = default_top_k(len(ranked)) if top_k is None else min(top_k, len(ranked))
    top_index = set(ranked.index[:k])
    n_all = int(labels.notna().sum())
    rows: list[ValueImpact] = []
    for label, value in groups:
        in_group = (labels == label).to_numpy()
        vals = values[in_group & done_mask].to_numpy(dtype=float)
        n = len(vals)
        top_count = sum(1 for i in df.index[in_group] if i in top_index)
        goodness = vals * table.sign
        rows.append(
            ValueImpact(
                label=label,
                value=value,
                n=n,
                n_no_result=int(in_group.sum()) - n,
                mean=float(vals.mean()) if n else math.nan,
                std=float(vals.std(ddof=1)) if n > 1 else math.nan,
                median=float(np.median(vals)) if n else math.nan,
                best=float(vals[np.argmax(goodness)]) if n else math.nan,
                worst=float(vals[np.argmin(goodness)]) if n else math.nan,
                top_count=top_count,
                top_share=top_count / k if k else math.nan,
                frequency=int(in_group.sum()),
                frequency_share=int(in_group.sum()) / n_all if n_all else math.nan,
            )
        )
    with_result = [r for r in rows if r.n]
    best = max(with_result, key=lambda r: r.mean * table.sign, default=None)
    worst = min(with_result, key=lambda r: r.mean * table.sign, default=None)
    spread = abs(best.mean - worst.mean) if best and worst and len(with_result) > 1 else math.nan
    return ParamImpact(
        param=param,
        kind=table.info(param).kind,
        binned=bool(groups) and isinstance(groups[0][1], tuple),
        top_k=k,
        rows=rows,
        best_label=best.label if best else None,
        worst_label=worst.label if worst else None,
        spread=spread,
    )


def impact_table(table: TrialFrame, *, top_k: int | None = None) -> list[ParamImpact]:
    """Impact of every param, in the table's param order."""
    return [param_impact(table, p, top_k=top_k) for p in table.params]


def value_frequencies(table: TrialFrame) -> dict[str, dict[str, int]]:
    """How often each value was tried, over all trials (seed 002's "Value Frequencies")."""
    out: dict[str, dict[str, int]] = {}
    for p in table.params:
        labels, groups = group_labels(table, p)
        counts = labels.value_counts()
        out[p] = {label: int(counts.get(label, 0)) for label, _ in groups}
    return out


def impact_frame(impacts: list[ParamImpact]) -> pd.DataFrame:
    """All impact rows as one long table (for CSV export)."""
    records = [
        {
            "param": imp.param,
            "value": row.label,
            "n": row.n,
            "n_no_result": row.n_no_result,
            "mean": row.mean,
            "std": row.std,
            "median": row.median,
            "best": row.best,
            "worst": row.worst,
            "top_k": imp.top_k,
            "top_count": row.top_count,
            "top_share": row.top_share,
            "frequency": row.frequency,
        }
        for imp in impacts
        for row in imp.rows
    ]
    return pd.DataFrame.from_records(
        records,
        columns=[
            "param",
            "value",
            "n",
            "n_no_result",
            "mean",
            "std",
            "median",
            "best",
            "worst",
            "top_k",
            "top_count",
            "top_share",
            "frequency",
        ],
    )
