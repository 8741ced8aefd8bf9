"""Baseline comparison: the best trial's changes and their matched effects."""

from __future__ import annotations

import math

from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import _trial, format_value, numbers
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Baseline comparison"


def build(ctx: Context) -> Section:
    return Section(TITLE, _baseline(ctx.analysis))


def _baseline(a: Analysis) -> str:
    num = numbers(a)
    head = "## Baseline comparison\n\n"
    t, b = a.table, a.baseline
    if b is None:
        if t.baseline is None:
            return head + "No baseline given (neither a value nor a baseline config)."
        return head + (
            f"Baseline value {num.v(t.baseline)} given without its config, so there is no "
            "per-param diff; "
            "see *Overall statistics* for the count of trials beating it."
        )
    source = b.source
    if source.startswith("trial #"):  # a trial of the sweep: named as the user names it
        source = "trial " + _trial(t, source.removeprefix("trial #"))
    out = [head + f"Baseline ({source}) vs the best trial {_trial(t, b.best_number)}:\n"]
    rows = [
        [
            c.param,
            c.baseline,
            c.best,
            "changed" if c.changed else "same" if c.changed is False else "unknown",
        ]
        for c in b.changes
    ]
    rows.append(
        [
            t.objective or "value",
            num.v(b.baseline_value) if b.baseline_value is not None else "—",
            num.v(b.best_value),
            num.d(b.delta),
        ]
    )
    out.append(md_table(["Param", "Baseline", "Best", "Change"], rows))
    out.append("\n### Improvement breakdown (matched comparisons)\n")
    if not b.breakdown:
        out.append("The best trial uses the baseline's values for every param.")
        return "\n".join(out)
    out.append(
        "Each effect is the mean change between trials that differ **only** in that param; "
        "changes without such pairs get no number.\n"
    )
    brows = []
    for r in b.breakdown:
        if r.effect is None:
            brows.append(
                [
                    r.param,
                    f"{format_value(r.from_value)} → {format_value(r.to_value)}",
                    "no evidence",
                    "—",
                    r.reason,
                ]
            )
        else:
            e = r.effect
            brows.append(
                [
                    r.param,
                    f"{format_value(r.from_value)} → {format_value(r.to_value)}",
                    f"{num.d(e.mean)} (median {num.d(e.median)})",
                    str(e.n_pairs),
                    f"range {num.d(e.min)} … {num.d(e.max)}",
                ]
            )
    out.append(md_table(["Param", "Change", "Effect", "Pairs", "Note"], brows))
    if math.isfinite(b.explained) and math.isfinite(b.delta):
        out.append(
            f"\nMeasured effects add up to {num.d(b.explained)}; the actual difference is "
            f"{num.d(b.delta)} "
            f"(the rest, {num.d(b.delta - b.explained)}, is unexplained: untested "
            "changes, interactions or noise)."
        )
    return "\n".join(out)
