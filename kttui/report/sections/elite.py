"""Elite analysis: what the best trials agree on (fix, narrow, expand, keep)."""

from __future__ import annotations

import pandas as pd

from kttui.analysis.elite import EliteParam
from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import format_value, numbers
from kttui.report.section import Context, Section
from kttui.safetext import md_escape

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Elite analysis"


def build(ctx: Context) -> Section:
    return Section(TITLE, _elite(ctx.analysis), {"elite": _elite_frame(ctx.analysis)})


def _elite(a: Analysis) -> str:
    num = numbers(a)
    e = a.elite
    out = ["## Elite analysis", ""]
    if e.n_elite == 0:
        return "\n".join([*out, "No completed trials: no elite."])
    cmp = ">=" if a.table.direction == "maximize" else "<="
    out.append(
        f"Elite = top {e.fraction:.0%} of {e.n_complete} completed trials = **{e.n_elite}** trials "
        f"({a.table.objective or 'value'} {cmp} {num.v(e.threshold)}).\n"
    )
    rows = [[p.param, _action_label(p), _elite_values(p), p.reason] for p in e.params]
    out.append(md_table(["Param", "Suggestion", "Elite values / range", "Why"], rows))
    for w in e.warnings:
        out.append(f"\n> ⚠ {w}")
    return "\n".join(out)


def _action_label(p: EliteParam) -> str:
    if p.action == "fix":
        return f"**fix** to {format_value(p.dominant)}"
    if p.action == "expand":
        sides = [s for s, on in (("lower", p.expand_low), ("upper", p.expand_high)) if on]
        return f"**expand** {' and '.join(sides)} bound"
    if p.action == "narrow":
        if p.elite_low is not None and p.elite_high is not None and not p.elite_counts:
            return f"**narrow** to [{format_value(p.elite_low)}, {format_value(p.elite_high)}]"
        return f"**narrow** to {', '.join(md_escape(str(k)) for k in p.elite_counts)}"
    return "keep"


def _elite_values(p: EliteParam) -> str:
    if p.elite_counts:
        return ", ".join(f"{md_escape(str(k))}×{v}" for k, v in p.elite_counts.items())
    if p.elite_low is not None and p.elite_high is not None:
        return f"[{format_value(p.elite_low)}, {format_value(p.elite_high)}]"
    return "—"


def _elite_frame(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "param": p.param,
                "action": p.action,
                "reason": p.reason,
                "dominant": p.dominant,
                "dominant_share": p.dominant_share,
                "elite_low": p.elite_low,
                "elite_high": p.elite_high,
                "bound_low": p.bound_low,
                "bound_high": p.bound_high,
            }
            for p in a.elite.params
        ]
    )
