"""Convergence (best so far) and the efficiency of pruning."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from kttui.analysis.convergence import Convergence
from kttui.analysis.overview import Analysis
from kttui.analysis.table import TrialFrame
from kttui.mdtable import md_table
from kttui.report.charts import _build_chart, _thin
from kttui.report.format import _fence, _pct, _seconds, _trial, format_value, numbers
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Convergence and efficiency"


def build(ctx: Context) -> Section:
    a = ctx.analysis
    curve = (
        a.convergence.curve
        if a.convergence is not None
        else pd.DataFrame(columns=["number", "value", "best_so_far"])
    )
    return Section(TITLE, _convergence(a), {"convergence": curve})


def _convergence(a: Analysis) -> str:
    num = numbers(a)
    out = ["## Convergence and efficiency", ""]
    c = a.convergence
    if c is None:
        out.append("No completed trial: no best-so-far curve.")
    else:
        out.append(
            f"- Best value {num.v(c.best_value)} reached at trial "
            f"**{_trial(a.table, c.best_number)}** "
            f"({c.best_position} of {c.n_completed} completed trials); "
            f"{c.trials_since_best} completed since."
        )
        if c.improvement > 0:
            out.append(
                f"- 95 % of the improvement ({num.v(c.first_value)} → {num.v(c.best_value)}) "
                "was reached at trial "
                f"#{c.number_at_95} ({c.position_at_95} of {c.n_completed})."
            )
        else:
            out.append("- No improvement after the first completed trial.")
        chart = _best_so_far_chart(a.table, c)
        if chart:
            out.append("\n" + _fence(chart))
    e = a.efficiency
    out.append("\n### Efficiency\n")
    rows = [
        ["Pruned trials", f"{e.n_pruned} ({_pct(e.pruned_share)} of ended trials)"],
        ["Epochs run (all trials)", format_value(e.epochs_run)],
        ["Longest completed trial (epochs)", format_value(e.max_epochs)],
        [
            "Epochs saved by pruning (est.)",
            f"{format_value(e.epochs_saved)} ({_pct(e.share_saved)})",
        ],
        ["Time saved by pruning (est.)", _seconds(e.time_saved_s)],
    ]
    out.append(md_table(["", "Value"], rows, [False, True]))
    out.append(
        "\n*Saved = what each pruned trial would have run up to the longest completed "
        "trial, at its own seconds per epoch.*"
    )
    return "\n".join(out)


def _best_so_far_chart(t: TrialFrame, c: Convergence) -> str:
    if c.n_completed < 2:
        return ""
    x = c.curve["number"].to_numpy(dtype=float)
    y = c.curve["value"].to_numpy(dtype=float)
    best = c.curve["best_so_far"].to_numpy(dtype=float)
    idx = _thin(x, keep=c.best_position - 1)

    def draw(plt: Any) -> None:
        plt.scatter(x[idx].tolist(), y[idx].tolist(), marker="dot", label="trial")
        plt.plot(x[idx].tolist(), best[idx].tolist(), marker="braille", label="best so far")
        if t.baseline is not None and math.isfinite(t.baseline):
            plt.hline(t.baseline)
        plt.title(f"best-so-far {t.objective or 'value'} by trial number")
        plt.xlabel("trial")

    return _build_chart(draw)
