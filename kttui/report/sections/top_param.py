"""The objective plotted against the most important numeric param."""

from __future__ import annotations

from typing import Any

import numpy as np

from kttui.analysis.overview import Analysis
from kttui.report.charts import _build_chart, _thin
from kttui.report.format import _fence
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Top param"


def build(ctx: Context) -> Section:
    return Section(TITLE, _top_param_section(ctx.analysis))


def _top_param_section(a: Analysis) -> str:
    chart = _top_param_chart(a)
    head = "## Top param\n\n"
    if not chart:
        return head + "No numeric param with at least two values and two results to plot."
    primary = a.importance.primary
    ranking = primary.label if primary else "|Spearman ρ|"
    return head + f"*The most important numeric param by {ranking}.*\n\n" + _fence(chart)


def _top_param_chart(a: Analysis) -> str:
    """Objective against the most important numeric param: where the good region is."""
    t = a.table
    order = (
        list(a.importance.primary.percent)
        if a.importance.primary
        else [d.correlation.param for d in a.importance.correlations]
    )
    numeric = [p for p in order if t.is_numeric(p) and len(t.distinct(p)) > 1]
    done = t.completed
    if not numeric or len(done) < 2:
        return ""
    p = numeric[0]
    x = done[p].astype(float).to_numpy()
    y = done["value"].to_numpy(dtype=float)
    idx = _thin(x)
    log = t.info(p).log and bool(np.all(x > 0))

    def draw(plt: Any) -> None:
        plt.scatter(x[idx].tolist(), y[idx].tolist(), marker="dot")
        if log:
            plt.xscale("log")
        plt.title(f"{t.objective or 'value'} vs {p}")
        plt.xlabel(p)

    return _build_chart(draw)
