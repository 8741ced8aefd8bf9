"""Summary: counts, best, mean, times; exports the trials and the summary numbers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import _seconds, _trial, numbers
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Summary"


def build(ctx: Context) -> Section:
    a = ctx.analysis
    return Section(
        TITLE,
        _summary(a),
        {"trials": a.table.df, "summary": _summary_frame(a)},
    )


def _summary(a: Analysis) -> str:
    num = numbers(a)
    s, t = a.summary, a.table
    rows: list[list[Any]] = [
        ["Trials", s.n_total],
        ["Completed", s.counts["complete"]],
        ["Pruned", s.counts["pruned"]],
        ["Failed", s.counts["fail"]],
        ["Running", s.counts["running"]],
        ["Incomplete", s.counts["incomplete"]],
        ["With a result", s.n_valued],
        [
            "Best",
            f"{num.v(s.best_value)} (trial {_trial(t, s.best_number)})" if s.n_valued else "—",
        ],
        ["Mean ± std", f"{num.v(s.mean)} ± {num.v(s.std)}" if s.n_valued else "—"],
        ["Total time", _seconds(s.total_time_s)],
        [
            "Time per trial (mean / median)",
            f"{_seconds(s.mean_time_s)} / {_seconds(s.median_time_s)}",
        ],
    ]
    if s.baseline is not None:
        rows.append(
            ["Best − baseline", num.d(s.improvement_over_baseline) + " (positive = better)"]
        )
    if s.target is not None:
        reached = "reached" if s.target_reached else f"not reached, gap {num.v(s.gap_to_target)}"
        rows.append(
            ["Target", f"{num.v(s.target)} ({reached if s.target_reached is not None else '—'})"]
        )
    return "## Summary\n\n" + md_table(["", "Value"], rows, [False, True])


def _summary_frame(a: Analysis) -> pd.DataFrame:
    s = a.summary
    return pd.DataFrame(
        [
            ("n_total", s.n_total),
            *[(f"n_{k}", v) for k, v in s.counts.items()],
            ("n_valued", s.n_valued),
            ("best_value", s.best_value),
            ("best_number", s.best_number),
            ("mean", s.mean),
            ("std", s.std),
            ("median", s.median),
            ("min", s.min),
            ("max", s.max),
            ("total_time_s", s.total_time_s),
            ("baseline", s.baseline),
            ("target", s.target),
            ("improvement_over_baseline", s.improvement_over_baseline),
            ("n_better_than_baseline", s.vs_baseline.n_better if s.vs_baseline else None),
        ],
        columns=["key", "value"],
    )
