"""Plain-language findings: what the analyses say, each with the row of numbers behind it.

The wording follows the evidence: p<0.05 states, p<0.10 says "may", anything
else says there is no reliable trend. The report and the console's advice pane
print the same list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from kttui.analysis.overview import Analysis
from kttui.analysis.values import format_p
from kttui.safetext import format_value

Strength = Literal["fact", "strong", "suggestive", "weak"]


@dataclass(frozen=True)
class Finding:
    text: str
    evidence: str
    strength: Strength


def findings(analysis: Analysis) -> list[Finding]:
    """Plain-language statements, each with the row of numbers it comes from."""
    t = analysis.table
    s = analysis.summary
    out: list[Finding] = []
    obj = t.objective or "value"
    if s.n_valued == 0:
        return [
            Finding(
                "No trial completed with a result; nothing can be concluded.",
                f"{s.n_total} trials",
                "fact",
            )
        ]
    out.append(
        Finding(
            f"The best {obj} is {format_value(s.best_value)} (trial #{s.best_number}).",
            f"{s.n_valued} completed trials; median {format_value(s.median)}",
            "fact",
        )
    )
    if s.vs_baseline is not None:
        vb = s.vs_baseline
        verb = "improves on" if s.improvement_over_baseline > 0 else "does not beat"
        out.append(
            Finding(
                f"The best trial {verb} the baseline {format_value(vb.baseline)} "
                f"by {s.improvement_over_baseline:+.4g}; "
                f"{vb.n_better} of {vb.n_compared} completed "
                f"trials beat it ({vb.share_better:.0%}).",
                f"better {vb.n_better}, equal {vb.n_equal}, worse {vb.n_worse} "
                f"(of {vb.n_compared} with a result)",
                "fact",
            )
        )
    if s.target is not None and s.target_reached is not None:
        text = (
            f"The target {format_value(s.target)} was reached."
            if s.target_reached
            else (
                f"The target {format_value(s.target)} was not reached; "
                f"the gap is {s.gap_to_target:.4g}."
            )
        )
        out.append(Finding(text, f"best {format_value(s.best_value)}", "fact"))
    out.extend(_trend_findings(analysis))
    for nv in analysis.coverage.never_varied:
        out.append(
            Finding(
                f"{nv.param} was never varied (always {format_value(nv.value)}): "
                "the sweep cannot say "
                "whether another value would do better.",
                f"{nv.n} trials, 1 distinct value",
                "fact",
            )
        )
    for rv in analysis.coverage.tested_once:
        out.append(
            Finding(
                f"{rv.param}={format_value(rv.value)} rests on a single trial (#{rv.number}); "
                "do not conclude from it.",
                "n=1",
                "fact",
            )
        )
    d = analysis.duplicates
    if d.n_wasted:
        out.append(
            Finding(
                f"{d.n_wasted} trials ({d.share_wasted:.0%}) re-ran a config that had already run.",
                f"{d.n_unique} unique configs in {d.n_trials} trials",
                "fact",
            )
        )
    out.extend(_noise_findings(analysis))
    c = analysis.convergence
    if c is not None and c.n_completed > 1 and c.improvement > 0:
        out.append(
            Finding(
                f"95 % of the improvement was reached at trial #{c.number_at_95} "
                f"({c.position_at_95} of {c.n_completed} completed); "
                f"{c.trials_since_best} completed trials since the best.",
                f"first {format_value(c.first_value)} → best {format_value(c.best_value)}",
                "fact",
            )
        )
    b = analysis.budgets
    if b is not None:
        for ag in b.agreements:
            if math.isfinite(ag.rho):
                out.append(
                    Finding(
                        f"Configs run at both {format_value(ag.budget_a)} and "
                        f"{format_value(ag.budget_b)} rank "
                        f"{'similarly' if ag.rho > 0.5 else 'differently'} "
                        f"(Spearman rho={ag.rho:+.2f}).",
                        f"n={ag.n_shared} shared configs, p={format_p(ag.p_value)} ({ag.tier})",
                        _strength(ag.p_value),
                    )
                )
    return out


def _strength(p: float) -> Strength:
    if not math.isfinite(p) or p >= 0.10:
        return "weak"
    return "strong" if p < 0.05 else "suggestive"


def _trend_findings(analysis: Analysis) -> list[Finding]:
    out: list[Finding] = []
    for d in analysis.importance.correlations:
        c = d.correlation
        ev = f"Spearman rho={c.rho:+.3f}, p={format_p(c.p_value)}, n={c.n} ({c.tier})"
        better = d.goodness > 0
        if c.tier == "p<0.05":
            text = f"Higher {c.param} does {'better' if better else 'worse'}."
        elif c.tier == "p<0.10":
            text = f"Higher {c.param} may do {'better' if better else 'worse'} (suggestive only)."
        elif abs(c.rho) >= 0.2:
            lean = "up" if better else "down"
            text = f"No reliable trend for {c.param} (the data lean {lean}, not significantly)."
        else:
            continue
        out.append(Finding(text, ev, _strength(c.p_value)))
    for g in analysis.importance.groups:
        best, worst = g.groups[0], g.groups[-1]
        ev = (
            f"{g.test} p={format_p(g.p_value)} ({g.tier}); "
            f"mean {best.label}: {format_value(best.mean)} (n={best.n}) "
            f"vs {worst.label}: {format_value(worst.mean)} (n={worst.n})"
        )
        if g.tier == "p<0.05":
            text = f"{g.param}={best.label} does better than {g.param}={worst.label}."
        elif g.tier == "p<0.10":
            text = (
                f"{g.param}={best.label} may do better than {g.param}={worst.label} "
                "(suggestive only)."
            )
        else:
            text = f"No reliable difference between the values of {g.param}."
        out.append(Finding(text, ev, _strength(g.p_value)))
    primary = analysis.importance.primary
    if primary is not None and primary.percent:
        top, pct = next(iter(primary.percent.items()))
        out.append(
            Finding(
                f"{top} carries the largest share of importance ({pct:.0f} %, {primary.label}).",
                ", ".join(f"{k} {v:.0f} %" for k, v in list(primary.percent.items())[:5]),
                "fact",
            )
        )
    return out


def _noise_findings(analysis: Analysis) -> list[Finding]:
    sn = analysis.seeds
    if sn is None:
        return []
    t = analysis.table
    ranked = t.ranked()["value"].to_numpy(dtype=float)
    top_spread = abs(ranked[0] - ranked[min(4, len(ranked) - 1)]) if len(ranked) > 1 else math.nan
    worst = max(sn.configs, key=lambda c: max(c.values) - min(c.values))
    spread = max(worst.values) - min(worst.values)
    text = (
        f"Re-running the same config changed {t.objective or 'the value'} by up to {spread:.4g} "
        f"(pooled sd {sn.noise_std:.3g}, {sn.source})"
    )
    if math.isfinite(top_spread):
        relation = "more than" if spread > top_spread else "less than"
        text += f", {relation} the spread of the top 5 ({top_spread:.4g}): "
        text += (
            "their order may be noise."
            if spread > top_spread
            else "the ranking is larger than the noise."
        )
    else:
        text += "."
    ev = (
        ", ".join(format_value(v) for v in worst.values)
        + f" for trials {', '.join(f'#{n}' for n in worst.numbers)}"
    )
    return [Finding(text, ev, "fact")]
