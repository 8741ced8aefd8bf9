"""The Markdown sweep report (and its tables as CSV).

Every section of the hand-written reports (seeds 000-004) is here, computed
from the trials. A section that does not apply says so in one line instead of
disappearing, so two reports always have the same outline. Charts are plotext
text in fenced blocks: they read the same on GitHub and in a terminal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kttui import __version__
from kttui.analysis.convergence import Convergence
from kttui.analysis.elite import EliteParam
from kttui.analysis.findings import findings
from kttui.analysis.impact import ParamImpact, impact_frame
from kttui.analysis.importance import (
    FANOVA_MAX_TRIALS,
    FANOVA_TREES,
    MAX_IMPORTANCE_TRIALS,
    MIN_GROUP_SIZE,
    MIN_TRIALS_CORRELATION,
    MIN_TRIALS_IMPORTANCE,
    correlation_frame,
    group_frame,
    importance_frame,
)
from kttui.analysis.overview import Analysis, analyze
from kttui.analysis.table import TrialTable, space_from_spec
from kttui.analysis.topn import effects_frame
from kttui.analysis.values import format_value as plain_value
from kttui.recommend.proposals import proposals_yaml, supplementary_trials
from kttui.recommend.refine import refined_specs
from kttui.recommend.yamlstyle import spec_yaml
from kttui.safetext import md_cell, md_code, md_escape, one_line, strip_controls

#: Longest table a section prints before it says "N more in the CSV export".
MAX_ROWS = 20
CHART_WIDTH = 72
CHART_HEIGHT = 16
#: Charts plot at most this many points (evenly sampled, best point kept).
MAX_CHART_POINTS = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ------------------------------------------------------------------ helpers
def format_value(value: Any) -> str:
    """A value as report prose shows it: compact, escaped for Markdown and HTML."""
    return md_escape(plain_value(value))


def _cell(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    return md_cell(value) if isinstance(value, str) else format_value(value)


def _one_line_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV export's text cells and headers without escapes, controls or line breaks."""
    out = frame.rename(columns=lambda c: one_line(c) if isinstance(c, str) else c)
    for col in [c for c in out.columns if out[c].dtype.kind in "OUS" or out[c].dtype == "string"]:
        out[col] = out[col].map(lambda v: one_line(v) if isinstance(v, str) else v)
    return out


def md_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool] | None = None
) -> str:
    """A GitHub table; columns flagged in ``numeric`` are right-aligned."""
    align = numeric or [False] * len(headers)
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "| " + " | ".join("---:" if a else "---" for a in align) + " |",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _v(x: float) -> str:
    """An objective value: 4 significant digits (0.7193, 12.35, 1.235e+04)."""
    return "—" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _d(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:+.4g}"


def _p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "—"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _pct(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.1%}"


def _seconds(s: float) -> str:
    if s is None or not math.isfinite(s):
        return "—"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _more(n_total: int, n_shown: int, what: str) -> str:
    return f"\n\n*{n_total - n_shown} more {what} in the CSV export.*" if n_total > n_shown else ""


def _fence(text: str, lang: str = "") -> str:
    run = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)  # a value's ``` stays in
    fence = "`" * (run + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _build_chart(draw: Any) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(CHART_WIDTH, CHART_HEIGHT)
    plt.theme("clear")
    try:  # plotext fails on extreme values (1e308): the report goes on without the chart
        draw(plt)
        text = str(plt.build())
    except Exception as exc:
        return f"(chart not drawn: {type(exc).__name__})"
    finally:
        plt.clear_figure()
    return "\n".join(line.rstrip() for line in _ANSI.sub("", text).splitlines())


def _thin(x: np.ndarray, keep: int | None = None) -> np.ndarray:
    """Indices of at most MAX_CHART_POINTS evenly spaced points, always keeping ``keep``."""
    if len(x) <= MAX_CHART_POINTS:
        return np.arange(len(x))
    idx = set(np.linspace(0, len(x) - 1, MAX_CHART_POINTS).round().astype(int).tolist())
    if keep is not None:
        idx.add(keep)
    return np.array(sorted(idx))


# ---------------------------------------------------------------- sections
def _trial(t: TrialTable, number: Any) -> str:
    """``#N``, with the user's own id beside it (imported trials: the ``--id`` column)."""
    n = int(number)
    if "label" in t.df.columns:
        hit = t.df.loc[t.df["number"] == n, "label"]
        if len(hit) and isinstance(hit.iloc[0], str) and hit.iloc[0]:
            return f"#{n} ({_cell(hit.iloc[0])})"
    return f"#{n}"


def _title(a: Analysis) -> str:
    t, s = a.table, a.summary
    name = t.name or "sweep"
    lines = [f"# Sweep report: {name}", ""]
    obj = f"{t.objective or 'value'} ({t.direction})"
    bits = [f"**Objective:** {obj}", f"**Trials:** {s.n_total} ({s.n_valued} with a result)"]
    if s.n_valued:
        bits.append(f"**Best:** {_v(s.best_value)} (trial {_trial(t, s.best_number)})")
    if s.baseline is not None:
        bits.append(f"**Baseline:** {_v(s.baseline)}")
    if s.target is not None:
        bits.append(f"**Target:** {_v(s.target)}")
    lines.append(" · ".join(bits))
    lines.append("")
    lines.append(
        f"*Generated by kttui {__version__}. Statistics use completed trials with a result only.*"
    )
    return "\n".join(lines)


def _summary(a: Analysis) -> str:
    s, t = a.summary, a.table
    rows: list[list[Any]] = [
        ["Trials", s.n_total],
        ["Completed", s.counts["complete"]],
        ["Pruned", s.counts["pruned"]],
        ["Failed", s.counts["fail"]],
        ["Running", s.counts["running"]],
        ["Incomplete", s.counts["incomplete"]],
        ["With a result", s.n_valued],
        ["Best", f"{_v(s.best_value)} (trial {_trial(t, s.best_number)})" if s.n_valued else "—"],
        ["Mean ± std", f"{_v(s.mean)} ± {_v(s.std)}" if s.n_valued else "—"],
        ["Total time", _seconds(s.total_time_s)],
        [
            "Time per trial (mean / median)",
            f"{_seconds(s.mean_time_s)} / {_seconds(s.median_time_s)}",
        ],
    ]
    if s.baseline is not None:
        rows.append(["Best − baseline", _d(s.improvement_over_baseline) + " (positive = better)"])
    if s.target is not None:
        reached = "reached" if s.target_reached else f"not reached, gap {_v(s.gap_to_target)}"
        rows.append(
            ["Target", f"{_v(s.target)} ({reached if s.target_reached is not None else '—'})"]
        )
    return "## Summary\n\n" + md_table(["", "Value"], rows, [False, True])


def _configuration(a: Analysis, spec: Mapping[str, Any] | None) -> str:
    t = a.table
    out = ["## Configuration", ""]
    if spec and spec.get("space"):
        rows = [[p, *_space_cells(entry)] for p, entry in spec["space"].items()]
        out.append("Search space (from the spec):\n")
    else:
        out.append(
            "No spec given: the space below is what the trials show (kinds inferred from values).\n"
        )
        rows = []
        for p in t.params:
            info = t.info(p)
            values = t.distinct(p)
            shown = ", ".join(format_value(v) for v in values[:8]) + (
                " …" if len(values) > 8 else ""
            )
            rows.append(
                [
                    p,
                    info.kind,
                    shown
                    if len(values) <= 12
                    else f"[{format_value(info.low)}, {format_value(info.high)}]",
                    "yes" if info.log else "",
                    "",
                ]
            )
    out.append(md_table(["Param", "Type", "Range / choices", "Log", "Step"], rows))
    fixed = dict((spec or {}).get("fixed") or t.fixed)
    out.append("")
    if fixed:
        out.append(
            "Fixed: " + ", ".join(md_code(f"{k}={plain_value(v)}") for k, v in fixed.items())
        )
    else:
        out.append("Fixed: none recorded.")
    if spec:
        for key in ("derived", "constraints", "strategy", "pruner"):
            value = spec.get(key)
            if value:
                out.append("")
                out.append(f"{key.capitalize()}: {_inline(value)}")
    return "\n".join(out)


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(
            md_code(f"{k}: {plain_value(v) if not isinstance(v, list | dict) else v}")
            for k, v in value.items()
        )
    if isinstance(value, list):
        return ", ".join(md_code(str(v)) for v in value)
    return md_code(str(value))


def _space_cells(entry: Mapping[str, Any]) -> list[str]:
    kind = str(entry.get("type", ""))
    if kind == "categorical":
        return [kind, ", ".join(format_value(c) for c in entry.get("choices") or []), "", ""]
    if kind == "bool":
        return [kind, "true, false", "", ""]
    return [
        kind,
        f"[{format_value(entry.get('low'))}, {format_value(entry.get('high'))}]",
        "yes" if entry.get("log") else "",
        format_value(entry["step"]) if entry.get("step") is not None else "",
    ]


def _statistics(a: Analysis) -> str:
    s = a.summary
    head = "## Overall statistics\n\n"
    if not s.n_valued:
        return head + "No completed trial has a result: there is nothing to summarise."
    worst = s.min if a.table.direction == "maximize" else s.max
    rows = [
        ["N (with a result)", str(s.n_valued)],
        ["Best", _v(s.best_value)],
        ["Worst", _v(worst)],
        ["Mean", _v(s.mean)],
        ["Median", _v(s.median)],
        ["Std (sample)", _v(s.std)],
        ["Min / max", f"{_v(s.min)} / {_v(s.max)}"],
        ["Range", _v(s.range)],
    ]
    text = head + md_table(["Statistic", "Value"], rows, [False, True])
    if s.vs_baseline is not None:
        vb = s.vs_baseline
        text += (
            f"\n\nAgainst the baseline {_v(vb.baseline)} (completed trials only): "
            f"**{vb.n_better}/{vb.n_compared} better ({_pct(vb.share_better)})**, "
            f"{vb.n_equal} equal, {vb.n_worse} worse."
        )
    return text


def _top(a: Analysis, n: int) -> str:
    head = f"## Top {n} configurations\n\n"
    top = a.top
    if top.empty:
        return head + "No completed trial has a result."
    t = a.table
    extra = [c for c in top.columns if c in ("budget", "seed") or str(c).startswith("metric:")]
    headers = [
        "Rank",
        "Trial",
        t.objective or "value",
        *t.params,
        *[c.removeprefix("metric:") for c in extra],
    ]
    rows = [
        [
            int(r["rank"]),
            _trial(t, r["number"]),
            _v(r["value"]),
            *[format_value(r[p]) for p in t.params],  # escaped: values are anyone's text
            *[r[c] for c in extra],
        ]
        for _, r in top.iterrows()
    ]
    return head + md_table(
        headers,
        rows,
        [True, True, True, *[t.is_numeric(p) for p in t.params], *[True] * len(extra)],
    )


def _baseline(a: Analysis) -> str:
    head = "## Baseline comparison\n\n"
    t, b = a.table, a.baseline
    if b is None:
        if t.baseline is None:
            return head + "No baseline given (neither a value nor a baseline config)."
        return head + (
            f"Baseline value {_v(t.baseline)} given without its config, so there is no "
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
            _v(b.baseline_value) if b.baseline_value is not None else "—",
            _v(b.best_value),
            _d(b.delta),
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
                    f"{_d(e.mean)} (median {_d(e.median)})",
                    str(e.n_pairs),
                    f"range {_d(e.min)} … {_d(e.max)}",
                ]
            )
    out.append(md_table(["Param", "Change", "Effect", "Pairs", "Note"], brows))
    if math.isfinite(b.explained) and math.isfinite(b.delta):
        out.append(
            f"\nMeasured effects add up to {_d(b.explained)}; the actual difference is "
            f"{_d(b.delta)} "
            f"(the rest, {_d(b.delta - b.explained)}, is unexplained: untested "
            "changes, interactions or noise)."
        )
    return "\n".join(out)


def _impact_section(a: Analysis) -> str:
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
                _d(e.mean),
                _d(e.median),
                f"{_d(e.min)} … {_d(e.max)}",
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
                _v(r.mean),
                _v(r.best),
                _v(r.worst),
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
        note = f"\n\nBest mean: {imp.best_label}; spread of the means: {_v(imp.spread)}{unit}" + "."
    return f"{title}\n\n{table}{note}"


def _importance(a: Analysis) -> str:
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
                    f"{md_escape(best.label)} ({_v(best.mean)}, n={best.n})",
                    f"{md_escape(worst.label)} ({_v(worst.mean)}, n={worst.n})",
                    _d(g.delta),
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


def _top_param_chart(a: Analysis) -> str:
    """Objective against the most important numeric param: where the good region is."""
    t = a.table
    order = (
        list(a.importance.primary.percent)
        if a.importance.primary
        else [d.correlation.param for d in a.importance.correlations]
    )
    numeric = [p for p in order if t.is_numeric(p) and len(t.distinct(p)) > 1]
    done = t.completed
    if not numeric or len(done) < 2:
        return ""
    p = numeric[0]
    x = done[p].astype(float).to_numpy()
    y = done["value"].to_numpy(dtype=float)
    idx = _thin(x)
    log = t.info(p).log and bool(np.all(x > 0))

    def draw(plt: Any) -> None:
        plt.scatter(x[idx].tolist(), y[idx].tolist(), marker="dot")
        if log:
            plt.xscale("log")
        plt.title(f"{t.objective or 'value'} vs {p}")
        plt.xlabel(p)

    return _build_chart(draw)


def _elite(a: Analysis) -> str:
    e = a.elite
    out = ["## Elite analysis", ""]
    if e.n_elite == 0:
        return "\n".join([*out, "No completed trials: no elite."])
    cmp = ">=" if a.table.direction == "maximize" else "<="
    out.append(
        f"Elite = top {e.fraction:.0%} of {e.n_complete} completed trials = **{e.n_elite}** trials "
        f"({a.table.objective or 'value'} {cmp} {_v(e.threshold)}).\n"
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


def _duplicates(a: Analysis) -> str:
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
            ", ".join(_v(v) for v in g.values[:8]),
            _v(g.spread),
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


def _config(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items())


def _convergence(a: Analysis) -> str:
    out = ["## Convergence and efficiency", ""]
    c = a.convergence
    if c is None:
        out.append("No completed trial: no best-so-far curve.")
    else:
        out.append(
            f"- Best value {_v(c.best_value)} reached at trial "
            f"**{_trial(a.table, c.best_number)}** "
            f"({c.best_position} of {c.n_completed} completed trials); "
            f"{c.trials_since_best} completed since."
        )
        if c.improvement > 0:
            out.append(
                f"- 95 % of the improvement ({_v(c.first_value)} → {_v(c.best_value)}) "
                "was reached at trial "
                f"#{c.number_at_95} ({c.position_at_95} of {c.n_completed})."
            )
        else:
            out.append("- No improvement after the first completed trial.")
        chart = _best_so_far_chart(a.table, c)
        if chart:
            out.append("\n" + _fence(chart))
    e = a.efficiency
    out.append("\n### Efficiency\n")
    rows = [
        ["Pruned trials", f"{e.n_pruned} ({_pct(e.pruned_share)} of ended trials)"],
        ["Epochs run (all trials)", format_value(e.epochs_run)],
        ["Longest completed trial (epochs)", format_value(e.max_epochs)],
        [
            "Epochs saved by pruning (est.)",
            f"{format_value(e.epochs_saved)} ({_pct(e.share_saved)})",
        ],
        ["Time saved by pruning (est.)", _seconds(e.time_saved_s)],
    ]
    out.append(md_table(["", "Value"], rows, [False, True]))
    out.append(
        "\n*Saved = what each pruned trial would have run up to the longest completed "
        "trial, at its own seconds per epoch.*"
    )
    return "\n".join(out)


def _best_so_far_chart(t: TrialTable, c: Convergence) -> str:
    if c.n_completed < 2:
        return ""
    x = c.curve["number"].to_numpy(dtype=float)
    y = c.curve["value"].to_numpy(dtype=float)
    best = c.curve["best_so_far"].to_numpy(dtype=float)
    idx = _thin(x, keep=c.best_position - 1)

    def draw(plt: Any) -> None:
        plt.scatter(x[idx].tolist(), y[idx].tolist(), marker="dot", label="trial")
        plt.plot(x[idx].tolist(), best[idx].tolist(), marker="braille", label="best so far")
        if t.baseline is not None and math.isfinite(t.baseline):
            plt.hline(t.baseline)
        plt.title(f"best-so-far {t.objective or 'value'} by trial number")
        plt.xlabel("trial")

    return _build_chart(draw)


def _budgets(a: Analysis) -> str:
    b = a.budgets
    head = "## Budgets\n\n"
    if b is None:
        return head + "Not applicable: the trials carry no `budget` column (or only one budget)."
    rows = [
        [
            format_value(x.budget),
            x.n_trials,
            x.n_complete,
            _v(x.best_value),
            f"#{x.best_number}" if x.best_number is not None else "—",
            _v(x.mean),
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


def _seeds(a: Analysis) -> str:
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
            _v(c.mean),
            _v(c.std),
            f"{_v(min(c.values))} … {_v(max(c.values))}",
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
    out.append(f"\nPooled within-config std (the noise): **{_v(sn.noise_std)}**.")
    if math.isfinite(sn.top_gap):
        size = "larger" if sn.gap_exceeds_noise else "not larger"
        out.append(
            f"The gap between the two best repeated configs ({_d(sn.top_gap)}) is {size} than the "
            f"seed noise; Welch t-test p={_p(sn.p_value)} ({sn.tier})"
            + (": with this few runs it may still be noise." if sn.tier == "n.s." else ".")
        )
    return "\n".join(out)


def _failures(a: Analysis) -> str:
    t = a.table
    df = t.df
    bad = df[(df["state"] != "complete") | ~np.isfinite(df["value"].astype(float))]
    head = "## Failed and incomplete trials\n\n"
    if bad.empty:
        return head + "None: every trial completed with a result."
    counts = bad["state"].value_counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    shown = bad.head(MAX_ROWS)
    rows = [
        [
            _trial(t, r["number"]),
            r["state"] + ("" if r["state"] != "complete" else " (no value)"),
            format_value(r["epochs"]),
            _seconds(float(r["duration_s"])),
            _config(t.config_of(r)),
        ]
        for _, r in shown.iterrows()
    ]
    table = md_table(["Trial", "State", "Epochs", "Time", "Config"], rows)
    return (
        head + f"{len(bad)} trials without a result ({summary}); they are excluded from all "
        "statistics.\n\n" + table + _more(len(bad), len(shown), "trials")
    )


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


def _findings(a: Analysis) -> list[str]:
    out = []
    for f in findings(a):
        tag = {
            "strong": "",
            "suggestive": " *(suggestive)*",
            "weak": " *(not significant)*",
            "fact": "",
        }[f.strength]
        out.append(f"- {md_escape(f.text)}{tag} — *{md_escape(f.evidence)}*")  # plain prose
    return out


def _recommendations(a: Analysis, spec: Mapping[str, Any] | None) -> str:
    t = a.table
    out = ["## Recommendations", "", "### Findings", "", *_findings(a)]
    out.append("\n### Refined next spec\n")
    if a.summary.n_valued == 0 or not t.params:
        out.append("Not generated: no completed trial to learn from.")
    else:
        aggressive, conservative = refined_specs(t, spec, analysis=a)
        out.append(
            "**Option A — aggressive:** fix what the elite agrees on, narrow to the elite range.\n"
        )
        out.append(_fence(aggressive.yaml_text, "yaml"))
        out.append(
            "\n**Option B — conservative:** fix only what a test supports, wider "
            "margins, explore never-varied params.\n"
        )
        out.append(_fence(conservative.yaml_text, "yaml"))
    out.append("\n### Supplementary trials\n")
    proposals = supplementary_trials(t, analysis=a, base_spec=spec) if a.summary.n_valued else []
    if not proposals:
        out.append(
            "None proposed: no untested in-between value, extreme or combination near "
            "the best config."
        )
    else:
        rows = [[p.label, p.kind, p.reason] for p in proposals]
        out.append(md_table(["Id", "Kind", "Why"], rows))
        out.append("\nAs a spec running exactly these configs:\n")
        out.append(_fence(proposals_yaml(t, proposals, spec), "yaml"))
    return "\n".join(out)


def _reproducibility(
    a: Analysis, spec: Mapping[str, Any] | None, command: Sequence[str] | None
) -> str:
    out = ["## Reproducibility", ""]
    if command:
        out.append("Report generated with:\n")
        out.append(_fence(shlex.join(command), "sh"))
    else:
        out.append("The command that produced this report was not recorded.")
    if spec:
        run = spec.get("command")
        if run:
            out.append("\nEach trial ran (placeholders filled from its params):\n")
            out.append(_fence(shlex.join(str(x) for x in run), "sh"))
        out.append(_trial_commands(a.table))
        out.append("\nThe spec of the sweep:\n")
        out.append(_fence(spec_yaml(spec), "yaml"))
    else:
        out.append(
            "\nNo spec given: the trials were imported, so the exact training command is unknown."
        )
    return "\n".join(out)


def _trial_commands(t: TrialTable) -> str:
    """Each trial's own lines (cwd, the env kttui set, placeholders filled), recorded at launch."""
    if "command" not in t.df.columns:
        return ""
    rows = t.df[[isinstance(c, str) and bool(c) for c in t.df["command"]]]
    if rows.empty:
        return ""
    shown = rows.head(MAX_ROWS)
    text = "\n\n".join(
        f"# trial {_trial(t, r['number'])}\n{r['command']}" for _, r in shown.iterrows()
    )
    head = "\nTo re-run a trial by hand (its working directory, the variables kttui set):\n"
    return head + "\n" + _fence(text, "sh") + _more(len(rows), len(shown), "trials")


# ------------------------------------------------------------------ entry
def _with_spec(table: TrialTable, spec: Mapping[str, Any] | None) -> TrialTable:
    """Fill what the table lacks (space, baseline, target, fixed) from the spec."""
    if not spec:
        return table
    changes: dict[str, Any] = {}
    if not table.space and spec.get("space"):
        # A malformed space only costs the report its declared bounds.
        with contextlib.suppress(KeyError, TypeError, ValueError):
            declared = space_from_spec(spec["space"])
            changes["space"] = {k: v for k, v in declared.items() if k in table.params}
    baseline = spec.get("baseline") or {}
    if (
        table.baseline is None
        and isinstance(baseline, Mapping)
        and baseline.get("value") is not None
    ):
        changes["baseline"] = float(baseline["value"])
    if table.target is None and spec.get("target") is not None:
        changes["target"] = float(spec["target"])
    if not table.fixed and spec.get("fixed"):
        changes["fixed"] = dict(spec["fixed"])
    if not table.name and spec.get("name"):
        changes["name"] = str(spec["name"])
    return dataclasses.replace(table, **changes) if changes else table


def _baseline_params(spec: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    baseline = (spec or {}).get("baseline") or {}
    params = baseline.get("params") if isinstance(baseline, Mapping) else None
    return dict(params) if params else None


def render_report(
    table: TrialTable,
    *,
    spec: dict[str, Any] | None = None,
    top_n: int = 10,
    command: list[str] | None = None,
    baseline: Mapping[str, Any] | int | None = None,
) -> str:
    """The full Markdown report of ``table``.

    ``spec`` is the sweep's spec as a plain dict (space, baseline params, command);
    ``baseline`` overrides the spec's baseline config with a param dict or a
    trial number; ``command`` is recorded in the reproducibility section.
    """
    table = _with_spec(table, spec)
    analysis = analyze(
        table,
        top_n_rows=top_n,
        baseline_params=baseline if baseline is not None else _baseline_params(spec),
    )
    return render_analysis(analysis, spec=spec, top_n=top_n, command=command)


def recommendations_analysis(table: TrialTable, *, spec: dict[str, Any] | None = None) -> Analysis:
    """The analysis behind the advice pane (the console also draws its importance)."""
    return analyze(_with_spec(table, spec), baseline_params=_baseline_params(spec))


def render_recommendations(
    table: TrialTable, *, spec: dict[str, Any] | None = None, analysis: Analysis | None = None
) -> str:
    """The console's advice pane: the report's findings and elite analysis, same functions."""
    a = analysis if analysis is not None else recommendations_analysis(table, spec=spec)
    return "\n".join(["## Findings", "", *_findings(a), "", _elite(a)])


def render_analysis(
    analysis: Analysis,
    *,
    spec: Mapping[str, Any] | None = None,
    top_n: int = 10,
    command: Sequence[str] | None = None,
) -> str:
    """Render an already computed :class:`Analysis` (the TUI keeps one around)."""
    a = analysis
    sections = [
        _title(a),
        _summary(a),
        _configuration(a, spec),
        _statistics(a),
        _top(a, top_n),
        _baseline(a),
        _impact_section(a),
        _importance(a),
        _top_param_section(a),
        _elite(a),
        _coverage(a),
        _duplicates(a),
        _convergence(a),
        _budgets(a),
        _seeds(a),
        _failures(a),
        _warnings(a),
        _recommendations(a, spec),
        _reproducibility(a, spec, command),
    ]
    return strip_controls("\n\n".join(s.rstrip() for s in sections if s) + "\n")


def _top_param_section(a: Analysis) -> str:
    chart = _top_param_chart(a)
    head = "## Top param\n\n"
    if not chart:
        return head + "No numeric param with at least two values and two results to plot."
    return head + _fence(chart)


# ------------------------------------------------------------------- export
def export_csv(
    table: TrialTable,
    directory: str | Path,
    *,
    spec: dict[str, Any] | None = None,
    analysis: Analysis | None = None,
) -> list[Path]:
    """Write every table of the report as CSV into ``directory``; returns the files written."""
    table = _with_spec(table, spec)
    a = analysis or analyze(table, baseline_params=_baseline_params(spec))
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    s = a.summary
    frames: dict[str, pd.DataFrame] = {
        "trials": table.df,
        "summary": pd.DataFrame(
            [
                ("n_total", s.n_total),
                *[(f"n_{k}", v) for k, v in s.counts.items()],
                ("n_valued", s.n_valued),
                ("best_value", s.best_value),
                ("best_number", s.best_number),
                ("mean", s.mean),
                ("std", s.std),
                ("median", s.median),
                ("min", s.min),
                ("max", s.max),
                ("total_time_s", s.total_time_s),
                ("baseline", s.baseline),
                ("target", s.target),
                ("improvement_over_baseline", s.improvement_over_baseline),
                ("n_better_than_baseline", s.vs_baseline.n_better if s.vs_baseline else None),
            ],
            columns=["key", "value"],
        ),
        "top": a.top,
        "impact": impact_frame(a.impacts),
        "matched_effects": effects_frame(a.effects),
        "importance": importance_frame(a.importance),
        "correlations": correlation_frame(a.importance),
        "group_tests": group_frame(a.importance),
        "elite": pd.DataFrame.from_records(
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
        ),
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
        "duplicates": pd.DataFrame.from_records(
            [
                {
                    "runs": g.n,
                    "trials": " ".join(map(str, g.numbers)),
                    "spread": g.spread,
                    **g.params,
                }
                for g in a.duplicates.groups
            ]
        ),
        "convergence": a.convergence.curve
        if a.convergence is not None
        else pd.DataFrame(columns=["number", "value", "best_so_far"]),
    }
    if a.budgets is not None:
        frames["budgets"] = pd.DataFrame.from_records(
            [
                {
                    "budget": x.budget,
                    "n_trials": x.n_trials,
                    "n_complete": x.n_complete,
                    "best": x.best_value,
                    "best_number": x.best_number,
                    "mean": x.mean,
                }
                for x in a.budgets.bests
            ]
        )
    if a.seeds is not None:
        frames["seeds"] = pd.DataFrame.from_records(
            [
                {
                    "runs": c.n,
                    "mean": c.mean,
                    "std": c.std,
                    "trials": " ".join(map(str, c.numbers)),
                    **c.params,
                }
                for c in a.seeds.configs
            ]
        )
    if s.n_valued:
        proposals = supplementary_trials(table, analysis=a, base_spec=spec)
        frames["proposals"] = pd.DataFrame.from_records(
            [{"id": p.label, "kind": p.kind, "reason": p.reason, **p.config} for p in proposals]
        )
    written: list[Path] = []
    for name, frame in frames.items():
        path = out_dir / f"{name}.csv"
        _one_line_text(frame).to_csv(path, index=False)
        written.append(path)
    return written
