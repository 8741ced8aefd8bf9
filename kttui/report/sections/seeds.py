"""Seed noise: configs run more than once and the pooled noise."""

from __future__ import annotations

import math

import pandas as pd

from kttui.analysis.overview import Analysis
from kttui.analysis.seeds import SeedNoise
from kttui.mdtable import md_table
from kttui.report.format import MAX_ROWS, _config, _p, numbers
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Seed noise"


def build(ctx: Context) -> Section:
    a = ctx.analysis
    frames = {"seeds": _seeds_frame(a.seeds)} if a.seeds is not None else {}
    return Section(TITLE, _seeds(a), frames)


def _seeds(a: Analysis) -> str:
    num = numbers(a)
    sn = a.seeds
    head = "## Seed noise\n\n"
    if sn is None:
        return (
            head + "Not applicable: no config ran more than once with a result, so seed "
            "noise is unknown."
        )
    out = [head + f"From {sn.source}: {len(sn.configs)} configs ran more than once.\n"]
    shown = sn.configs[:MAX_ROWS]
    rows = [
        [
            c.n,
            num.v(c.mean),
            num.v(c.std),
            f"{num.v(min(c.values))} … {num.v(max(c.values))}",
            ", ".join(f"#{n}" for n in c.numbers[:6]),
            _config({**c.params, **c.context}),
        ]
        for c in shown
    ]
    out.append(
        md_table(
            ["Runs", "Mean", "Std", "Range", "Trials", "Config"],
            rows,
            [True, True, True, False, False, False],
        )
    )
    out.append(f"\nPooled within-config std (the noise): **{num.v(sn.noise_std)}**.")
    if math.isfinite(sn.top_gap):
        size = "larger" if sn.gap_exceeds_noise else "not larger"
        out.append(
            f"The gap between the two best repeated configs ({num.d(sn.top_gap)}) is {size} "
            "than the "
            f"seed noise; Welch t-test p={_p(sn.p_value)} ({sn.tier})"
            + (": with this few runs it may still be noise." if sn.tier == "n.s." else ".")
        )
    return "\n".join(out)


def _seeds_frame(sn: SeedNoise) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "runs": c.n,
                "mean": c.mean,
                "std": c.std,
                "trials": " ".join(map(str, c.numbers)),
                **c.params,
            }
            for c in sn.configs
        ]
    )
