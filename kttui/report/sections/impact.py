"""Parameter impact: per-value tables and matched one-param effects."""

from __future__ import annotations

import math

from kttui.analysis.impact import ParamImpact, impact_frame
from kttui.analysis.overview import Analysis
from kttui.analysis.topn import effects_frame
from kttui.mdtable import md_table
from kttui.report.format import MAX_ROWS, _more, _pct, format_value, numbers
from kttui.report.section import Context, Section
from kttui.safetext import md_escape

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Parameter impact"


def build(ctx: Context) -> Section:
    a = ctx.analysis
    return Section(
        TITLE,
        _impact_section(a),
        {"impact": impact_frame(a.impacts), "matched_effects": effects_frame(a.effects)},
    )


def _impact_section(a: Analysis) -> str:
    num = numbers(a)
    out = ["## Parameter impact", ""]
    if not a.table.params:
        return "\n".join([*out, "The trials have no params."])
    k = a.impacts[0].top_k if a.impacts else 0
    out.append(
        f"N counts completed trials with a result; *no result* counts the others. "
        f"Top-{k} share: the share of the best {k} trials that use the value.\n"
    )
    for imp in a.impacts:
        out.append(_impact_table(a, imp))
        out.append("")
    effects = sorted(a.effects, key=lambda e: -e.n_pairs)
    out.append("### Matched one-param effects\n")
    if not effects:
        out.append(
            "No two completed trials differ in exactly one param (typical of "
            "random/TPE sampling of continuous params)."
        )
    else:
        shown = effects[:MAX_ROWS]
        rows = [
            [
                e.param,
                f"{format_value(e.from_value)} → {format_value(e.to_value)}",
                e.n_pairs,
                num.d(e.mean),
                num.d(e.median),
                f"{num.d(e.min)} … {num.d(e.max)}",
            ]
            for e in shown
        ]
        out.append(
            md_table(
                ["Param", "Change", "Pairs", "Mean effect", "Median", "Range"],
                rows,
                [False, False, True, True, True, False],
            )
        )
        out.append(_more(len(effects), len(shown), "effects"))
    return "\n".join(out).rstrip()


def _impact_table(a: Analysis, imp: ParamImpact) -> str:
    num = numbers(a)
    t = a.table
    title = f"### {imp.param}" + (" (binned)" if imp.binned else "")
    if not imp.varied:
        only = md_escape(imp.rows[0].label) if imp.rows else "—"
        n = imp.rows[0].n if imp.rows else 0
        return (
            f"{title}\n\nNever varied: every trial used {only} (N={n}). No impact can be measured."
        )
    rows = []
    for r in imp.rows:
        text = md_escape(r.label)  # a value label: anyone's text
        label = f"**{text}**" if r.label == imp.best_label and r.n else text
        rows.append(
            [
                label,
                r.n,
                r.n_no_result,
                num.v(r.mean),
                num.v(r.best),
                num.v(r.worst),
                _pct(r.top_share),
                r.frequency,
            ]
        )
    table = md_table(
        ["Value", "N", "No result", "Mean", "Best", "Worst", f"Top-{imp.top_k} share", "Tried"],
        rows,
        [False, True, True, True, True, True, True, True],
    )
    note = ""
    if math.isfinite(imp.spread) and imp.best_label is not None:
        unit = f" {t.objective}" if t.objective else ""
        spread = num.v(imp.spread)
        note = f"\n\nBest mean: {imp.best_label}; spread of the means: {spread}{unit}."
    return f"{title}\n\n{table}{note}"
