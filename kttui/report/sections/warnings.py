"""Warnings: too few trials, constant values, sampling, never-varied params."""

from __future__ import annotations

import numpy as np

from kttui.analysis.model_importance import MIN_TRIALS_IMPORTANCE
from kttui.analysis.overview import Analysis
from kttui.analysis.significance import MIN_TRIALS_CORRELATION
from kttui.report.format import _pct
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Warnings"


def build(ctx: Context) -> Section:
    return Section(TITLE, _warnings(ctx.analysis))


def _warnings(a: Analysis) -> str:
    t = a.table
    warns: list[str] = []
    n = a.summary.n_valued
    if n == 0:
        warns.append("No completed trial has a result: every statistic below is empty.")
    elif n < MIN_TRIALS_CORRELATION:
        warns.append(
            f"Only {n} completed trials: too few for trends (needs >= "
            f"{MIN_TRIALS_CORRELATION}) or importances (>= {MIN_TRIALS_IMPORTANCE})."
        )
    done = t.df[t.df["state"] == "complete"]
    no_value = int((~np.isfinite(done["value"].astype(float))).sum())
    if no_value:
        warns.append(
            f"{no_value} trials are marked complete but have no objective value; they "
            "are treated as incomplete."
        )
    if n > 1 and a.summary.range == 0:
        warns.append("Every completed trial has the same value: nothing distinguishes the configs.")
    warns += a.importance.warnings
    warns += a.elite.warnings
    for imp in a.importance.importances:
        if imp.sampled:
            warns.append(
                f"{imp.label}: computed on a random sample of {imp.n_trials} trials to stay fast."
            )
    for nv in a.coverage.never_varied:
        warns.append(f"{nv.param} was never varied: no conclusion about it has evidence here.")
    if a.duplicates.n_wasted:
        warns.append(
            f"{a.duplicates.n_wasted} trials repeated an earlier config "
            f"({_pct(a.duplicates.share_wasted)})."
        )
    head = "## Warnings\n\n"
    if not warns:
        return head + "None."
    return head + "\n".join(f"- {w}" for w in dict.fromkeys(warns))
