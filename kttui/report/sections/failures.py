"""Failed and incomplete trials, excluded from every statistic."""

from __future__ import annotations

import numpy as np

from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import MAX_ROWS, _config, _more, _seconds, _trial, format_value
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Failed and incomplete trials"


def build(ctx: Context) -> Section:
    return Section(TITLE, _failures(ctx.analysis))


def _failures(a: Analysis) -> str:
    t = a.table
    df = t.df
    bad = df[(df["state"] != "complete") | ~np.isfinite(df["value"].astype(float))]
    head = "## Failed and incomplete trials\n\n"
    if bad.empty:
        return head + "None: every trial completed with a result."
    counts = bad["state"].value_counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    shown = bad.head(MAX_ROWS)
    rows = [
        [
            _trial(t, r["number"]),
            r["state"] + ("" if r["state"] != "complete" else " (no value)"),
            format_value(r["epochs"]),
            _seconds(float(r["duration_s"])),
            _config(t.config_of(r)),
        ]
        for _, r in shown.iterrows()
    ]
    table = md_table(["Trial", "State", "Epochs", "Time", "Config"], rows)
    return (
        head + f"{len(bad)} trials without a result ({summary}); they are excluded from all "
        "statistics.\n\n" + table + _more(len(bad), len(shown), "trials")
    )
