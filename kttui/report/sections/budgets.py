"""Budgets: best per budget, consistency and rank agreement across budgets."""

from __future__ import annotations

import math

import pandas as pd

from kttui.analysis.budgets import BudgetComparison
from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import _p, format_value, numbers
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Budgets"


def build(ctx: Context) -> Section:
    a = ctx.analysis
    frames = {"budgets": _budgets_frame(a.budgets)} if a.budgets is not None else {}
    return Section(TITLE, _budgets(a), frames)


def _budgets(a: Analysis) -> str:
    num = numbers(a)
    b = a.budgets
    head = "## Budgets\n\n"
    if b is None:
        return head + "Not applicable: the trials carry no `budget` column (or only one budget)."
    rows = [
        [
            format_value(x.budget),
            x.n_trials,
            x.n_complete,
            num.v(x.best_value),
            f"#{x.best_number}" if x.best_number is not None else "—",
            num.v(x.mean),
        ]
        for x in b.bests
    ]
    out = [
        head
        + md_table(
            ["Budget", "Trials", "Completed", "Best", "Best trial", "Mean"],
            rows,
            [False, True, True, True, False, True],
        )
    ]
    if b.best_increases is not None:
        out.append(
            "\nThe best value "
            + (
                "improves with every larger budget."
                if b.best_increases
                else (
                    "does **not** improve with every larger budget "
                    "(check for overfitting or a changed regime)."
                )
            )
        )
    out.append("\n### Best config per budget\n")
    crow = [
        [
            pc.param,
            *[format_value(v) for v in pc.best_by_budget.values()],
            "yes" if pc.consistent else "**no**",
        ]
        for pc in b.consistency
    ]
    names = list(b.consistency[0].best_by_budget) if b.consistency else []
    out.append(
        md_table(["Param", *names, "Same everywhere"], crow)
        if crow
        else "No budget has a completed trial."
    )
    out.append(
        "\n*One best trial per budget is weak evidence; the rank agreement below uses "
        "every shared config.*"
    )
    out.append("\n### Rank agreement of configs run at two budgets\n")
    arow = [
        [
            f"{format_value(ag.budget_a)} vs {format_value(ag.budget_b)}",
            ag.n_shared,
            f"{ag.rho:+.2f}" if math.isfinite(ag.rho) else "—",
            _p(ag.p_value),
            ag.tier,
        ]
        for ag in b.agreements
    ]
    out.append(
        md_table(
            ["Budgets", "Shared configs", "Spearman ρ", "p", "Tier"],
            arow,
            [False, True, True, True, False],
        )
    )
    return "\n".join(out)


def _budgets_frame(b: BudgetComparison) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "budget": x.budget,
                "n_trials": x.n_trials,
                "n_complete": x.n_complete,
                "best": x.best_value,
                "best_number": x.best_number,
                "mean": x.mean,
            }
            for x in b.bests
        ]
    )
