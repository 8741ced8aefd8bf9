"""Importance (fANOVA, PED-ANOVA), Spearman directionality and rank tests."""

from __future__ import annotations

from typing import Any

from kttui.analysis.importance import correlation_frame, group_frame, importance_frame
from kttui.analysis.model_importance import (
    FANOVA_MAX_TRIALS,
    FANOVA_TREES,
    MAX_IMPORTANCE_TRIALS,
    MIN_TRIALS_IMPORTANCE,
)
from kttui.analysis.overview import Analysis
from kttui.analysis.significance import MIN_GROUP_SIZE, MIN_TRIALS_CORRELATION
from kttui.mdtable import md_table
from kttui.report.charts import CHART_WIDTH, _build_chart
from kttui.report.format import _fence, _p, numbers
from kttui.report.section import Context, Section
from kttui.safetext import md_escape

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Importance and directionality"


def build(ctx: Context) -> Section:
    a = ctx.analysis
    return Section(
        TITLE,
        _importance(a),
        {
            "importance": importance_frame(a.importance),
            "correlations": correlation_frame(a.importance),
            "group_tests": group_frame(a.importance),
        },
    )


def _importance(a: Analysis) -> str:
    num = numbers(a)
    imp = a.importance
    out = ["## Importance and directionality", ""]
    if imp.importances:
        params = list(imp.importances[0].percent)
        headers = ["Param", *[i.label for i in imp.importances]]
        pct = [[p, *[f"{i.percent.get(p, 0.0):.1f} %" for i in imp.importances]] for p in params]
        out.append(md_table(headers, pct, [False, *[True] * len(imp.importances)]))
        notes = [i.note for i in imp.importances if i.note]
        out.extend(f"\n*{n}.*" for n in dict.fromkeys(notes))
    else:
        out.append("No importance model fitted.")
    for method, why in imp.unavailable.items():
        name = "fANOVA" if method == "fanova" else "PED-ANOVA"
        out.append(f"\n{name} not computed: {why}.")
    out.append(
        f"\n*fANOVA uses {FANOVA_TREES} trees on at most {FANOVA_MAX_TRIALS} trials, PED-ANOVA "
        f"at most {MAX_IMPORTANCE_TRIALS} (larger studies are randomly sampled); no model is "
        f"fitted below {MIN_TRIALS_IMPORTANCE} completed trials.*"
    )
    chart = _importance_chart(a)
    if chart:
        out.append("\n" + _fence(chart))
    out.append("\n### Directionality (Spearman ρ, numeric params)\n")
    if imp.correlations:
        rows: list[list[Any]] = [
            [
                d.correlation.param,
                d.correlation.n,
                f"{d.correlation.rho:+.3f}",
                _p(d.correlation.p_value),
                d.correlation.tier,
                _hedged(d.trend, d.correlation.tier),
            ]
            for d in imp.correlations
        ]
        out.append(
            md_table(
                ["Param", "N", "ρ", "p", "Tier", "Reading"],
                rows,
                [False, True, True, True, False, False],
            )
        )
    else:
        out.append(
            f"No numeric param with enough completed trials (needs >= {MIN_TRIALS_CORRELATION})."
        )
    out.append("\n### Categorical and boolean params (rank tests)\n")
    if imp.groups:
        rows = []
        for g in imp.groups:
            best, worst = g.groups[0], g.groups[-1]
            rows.append(
                [
                    g.param,
                    g.test,
                    _p(g.p_value),
                    g.tier,
                    f"{md_escape(best.label)} ({num.v(best.mean)}, n={best.n})",
                    f"{md_escape(worst.label)} ({num.v(worst.mean)}, n={worst.n})",
                    num.d(g.delta),
                ]
            )
        out.append(
            md_table(
                ["Param", "Test", "p", "Tier", "Best value (mean)", "Worst value (mean)", "Δ"], rows
            )
        )
    else:
        out.append(
            f"No boolean/categorical param with two values of >= {MIN_GROUP_SIZE} "
            "completed trials each."
        )
    out.append("\n### Significance tiers\n")
    tiers: dict[str, list[str]] = {"p<0.05": [], "p<0.10": [], "n.s.": []}
    for d in imp.correlations:
        tiers[d.correlation.tier].append(
            f"{d.correlation.param} (ρ={d.correlation.rho:+.2f}, p={_p(d.correlation.p_value)})"
        )
    for g in imp.groups:
        tiers[g.tier].append(f"{g.param} ({g.test} p={_p(g.p_value)})")
    labels = {
        "p<0.05": "Significant (p < 0.05)",
        "p<0.10": "Suggestive (p < 0.10)",
        "n.s.": "Not significant — need more data",
    }
    for key, label in labels.items():
        out.append(f"- **{label}:** {', '.join(tiers[key]) or 'none'}")
    out.append(
        "\n*No correction for multiple comparisons: with many params, expect some p < "
        "0.05 by chance.*"
    )
    return "\n".join(out)


def _hedged(trend: str, tier: str) -> str:
    if trend == "no trend":
        return "no trend"
    if tier == "p<0.05":
        return trend
    if tier == "p<0.10":
        return f"{trend}? (suggestive)"
    return f"no reliable trend (leans: {trend})"


def _importance_chart(a: Analysis) -> str:
    primary = a.importance.primary
    if primary is not None and primary.percent:
        items = list(primary.percent.items())[:10]
        title = f"importance (%), {primary.label}"
    elif a.importance.correlations:
        items = [
            (d.correlation.param, abs(d.correlation.rho)) for d in a.importance.correlations[:10]
        ]
        title = "|Spearman rho|"
    else:
        return ""
    names = [n for n, _ in reversed(items)]
    values = [float(v) for _, v in reversed(items)]

    def draw(plt: Any) -> None:
        plt.bar(names, values, orientation="horizontal", width=0.4)
        plt.title(title)
        plt.plotsize(CHART_WIDTH, max(6, 2 * len(items) + 4))

    return _build_chart(draw)
