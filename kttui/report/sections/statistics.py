"""Overall statistics of the completed trials, and the count beating the baseline."""

from __future__ import annotations

from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import _pct, numbers
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Overall statistics"


def build(ctx: Context) -> Section:
    return Section(TITLE, _statistics(ctx.analysis))


def _statistics(a: Analysis) -> str:
    num = numbers(a)
    s = a.summary
    head = "## Overall statistics\n\n"
    if not s.n_valued:
        return head + "No completed trial has a result: there is nothing to summarise."
    worst = s.min if a.table.direction == "maximize" else s.max
    rows = [
        ["N (with a result)", str(s.n_valued)],
        ["Best", num.v(s.best_value)],
        ["Worst", num.v(worst)],
        ["Mean", num.v(s.mean)],
        ["Median", num.v(s.median)],
        ["Std (sample)", num.v(s.std)],
        ["Min / max", f"{num.v(s.min)} / {num.v(s.max)}"],
        ["Range", num.v(s.range)],
    ]
    text = head + md_table(["Statistic", "Value"], rows, [False, True])
    if s.vs_baseline is not None:
        vb = s.vs_baseline
        text += (
            f"\n\nAgainst the baseline {num.v(vb.baseline)} (completed trials only): "
            f"**{vb.n_better}/{vb.n_compared} better ({_pct(vb.share_better)})**, "
            f"{vb.n_equal} equal, {vb.n_worse} worse."
        )
    return text
