"""Duplicates: configs evaluated more than once."""

from __future__ import annotations

import pandas as pd

from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import MAX_ROWS, _config, _more, _pct, numbers
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Duplicates"


def build(ctx: Context) -> Section:
    return Section(
        TITLE, _duplicates(ctx.analysis), {"duplicates": _duplicates_frame(ctx.analysis)}
    )


def _duplicates(a: Analysis) -> str:
    num = numbers(a)
    d = a.duplicates
    head = "## Duplicates\n\n"
    if not d.groups:
        return (
            head
            + f"No config was evaluated twice ({d.n_unique} unique configs in {d.n_trials} trials)."
        )
    keyed = ", ".join(k for k in d.keyed_on if k in ("seed", "budget"))
    text = head + (
        f"**{d.n_wasted} of {d.n_trials} trials ({_pct(d.share_wasted)})** re-ran an "
        "already evaluated config" + (f" (same {keyed} too)" if keyed else "") + ".\n\n"
    )
    shown = d.groups[:MAX_ROWS]
    rows = [
        [
            g.n,
            ", ".join(f"#{n}" for n in g.numbers[:8]) + (" …" if g.n > 8 else ""),
            ", ".join(num.v(v) for v in g.values[:8]),
            num.v(g.spread),
            _config(g.params),
        ]
        for g in shown
    ]
    return (
        text
        + md_table(
            ["Runs", "Trials", "Values", "Spread", "Config"],
            rows,
            [True, False, False, True, False],
        )
        + _more(len(d.groups), len(shown), "groups")
    )


def _duplicates_frame(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "runs": g.n,
                "trials": " ".join(map(str, g.numbers)),
                "spread": g.spread,
                **g.params,
            }
            for g in a.duplicates.groups
        ]
    )
