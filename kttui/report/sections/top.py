"""The top configurations, best first."""

from __future__ import annotations

from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import _trial, format_value, numbers
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Top "


def build(ctx: Context) -> Section:
    return Section(TITLE, _top(ctx.analysis, ctx.top_n), {"top": ctx.analysis.top})


def _top(a: Analysis, n: int) -> str:
    num = numbers(a)
    head = f"## Top {n} configurations\n\n"
    top = a.top
    if top.empty:
        return head + "No completed trial has a result."
    t = a.table
    extra = [c for c in top.columns if c in ("budget", "seed") or str(c).startswith("metric:")]
    headers = [
        "Rank",
        "Trial",
        t.objective or "value",
        *t.params,
        *[c.removeprefix("metric:") for c in extra],
    ]
    rows = [
        [
            int(r["rank"]),
            _trial(t, r["number"]),
            num.v(r["value"]),
            *[format_value(r[p]) for p in t.params],  # escaped: values are anyone's text
            *[r[c] for c in extra],
        ]
        for _, r in top.iterrows()
    ]
    return head + md_table(
        headers,
        rows,
        [True, True, True, *[t.is_numeric(p) for p in t.params], *[True] * len(extra)],
    )
