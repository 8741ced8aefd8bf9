"""Coverage and gaps: unique configs, untested values, pairwise coverage."""

from __future__ import annotations

import pandas as pd

from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import MAX_ROWS, _more, _pct, format_value
from kttui.report.section import Context, Section
from kttui.safetext import format_value as plain_value

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Coverage and gaps"


def build(ctx: Context) -> Section:
    a = ctx.analysis
    return Section(TITLE, _coverage(a), _coverage_frames(a))


def _coverage(a: Analysis) -> str:
    c = a.coverage
    out = ["## Coverage and gaps", ""]
    grid = ""
    if c.grid_size:
        share = c.n_unique_configs / c.grid_size
        grid = f" of {c.grid_size} possible ({c.grid_source} grid; {share:.1%} covered)"
    out.append(f"- Unique configs: **{c.n_unique_configs}**{grid} in {c.n_trials} trials.")
    if c.never_varied:
        for nv in c.never_varied:
            out.append(
                f"- **{nv.param} was never varied** (always {format_value(nv.value)}): "
                "nothing can be said about it."
            )
    else:
        out.append("- Every param was varied.")
    if c.tested_once:
        once = ", ".join(f"{r.param}={format_value(r.value)} (#{r.number})" for r in c.tested_once)
        out.append(f"- Values resting on a **single** completed trial: {once}.")
    else:
        out.append("- No value rests on a single trial.")
    out.append("\n### Untested values\n")
    gaps = sorted(c.gaps, key=lambda g: (not g.near_best, g.param))
    if gaps or c.untested:
        rows = [
            [
                g.param,
                f"{format_value(g.lower)} … {format_value(g.upper)}",
                ", ".join(format_value(v) for v in g.candidates),
                g.source,
                "yes" if g.near_best else "",
            ]
            for g in gaps[:MAX_ROWS]
        ]
        rows += [
            [
                u.param,
                "outside the tested range",
                ", ".join(format_value(v) for v in u.values[:8]),
                "declared",
                "",
            ]
            for u in c.untested
        ]
        out.append(
            md_table(["Param", "Between", "Untested candidates", "Grid", "Next to best"], rows)
        )
        out.append(_more(len(gaps), min(len(gaps), MAX_ROWS), "gaps"))
    else:
        out.append("No gaps on discrete grids (continuous params are not gridded).")
    out.append("\n### Pairwise combination coverage\n")
    if c.pairs:
        shown = c.pairs[:MAX_ROWS]
        rows = [
            [
                f"{pc.a} × {pc.b}",
                f"{pc.n_tested}/{pc.n_possible}",
                _pct(pc.share),
                "; ".join(
                    f"({format_value(x)}, {format_value(y)})" for x, y in pc.untested_examples
                )
                or "—",
            ]
            for pc in shown
        ]
        out.append(
            md_table(
                ["Pair", "Tested", "Coverage", "Untested examples (nearest the best first)"],
                rows,
                [False, True, True, False],
            )
        )
        out.append(_more(len(c.pairs), len(shown), "pairs"))
    else:
        out.append("Fewer than two discrete params varied: no combination grid to cover.")
    return "\n".join(out).rstrip()


def _coverage_frames(a: Analysis) -> dict[str, pd.DataFrame]:
    return {
        "coverage_pairs": pd.DataFrame.from_records(
            [
                {
                    "a": pc.a,
                    "b": pc.b,
                    "tested": pc.n_tested,
                    "possible": pc.n_possible,
                    "share": pc.share,
                }
                for pc in a.coverage.pairs
            ],
            columns=["a", "b", "tested", "possible", "share"],
        ),
        "gaps": pd.DataFrame.from_records(
            [
                {
                    "param": g.param,
                    "lower": g.lower,
                    "upper": g.upper,
                    "candidates": " ".join(plain_value(v) for v in g.candidates),
                    "near_best": g.near_best,
                }
                for g in a.coverage.gaps
            ],
            columns=["param", "lower", "upper", "candidates", "near_best"],
        ),
    }
