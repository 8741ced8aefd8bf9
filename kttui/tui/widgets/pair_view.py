"""Text charts of the chart pane: importance bars and the pair view grid.

Drawn as text rather than plotext so each bar sits on its label's line and each
cell under its column label. The numbers are the report's
(:func:`kttui.chartdata.chart_importance`, :func:`kttui.analysis.pairgrid.pair_grid`).
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text

from kttui.chartdata import ChartImportance

#: Cell colours from worst to best mean objective.
SCALE = ("red3", "dark_orange3", "yellow4", "chartreuse4", "green3")
CELL = 8


def importance_text(imp: ChartImportance | None, width: int) -> Text:
    """One line per varied param: name, a bar, the score; the method on the first line."""
    if imp is None or not imp.bars:
        return Text(
            "importance: needs 8 completed trials with a varied param "
            "(|Spearman ρ|; fANOVA from 10)",
            style="dim",
        )
    out = Text(f"importance: {imp.method}, {imp.n} completed trials\n", style="bold")
    if imp.note:
        out.append(f"({imp.note})\n", style="dim")
    top = max((s for _, s in imp.bars if math.isfinite(s)), default=0.0) or 1.0
    name_w = min(24, max(len(p) for p, _ in imp.bars))
    percent = imp.method.startswith("fANOVA")
    bar_w = max(4, width - name_w - 10)
    for param, score in imp.bars:
        score = score if math.isfinite(score) else 0.0
        label = param if len(param) <= name_w else param[: name_w - 1] + "…"
        n = round(bar_w * score / top)
        value = f"{score:5.1f}%" if percent else f"{score:6.3f}"
        out.append(f"{label:<{name_w}} ")
        out.append("█" * n, style="cyan")
        out.append(" " * (bar_w - n) + f" {value}\n")
    return out


def _colour(mean: float, lo: float, hi: float, maximize: bool) -> str:
    share = 0.5 if hi <= lo else (mean - lo) / (hi - lo)
    if not maximize:
        share = 1 - share
    return SCALE[min(len(SCALE) - 1, int(share * len(SCALE)))]


def pair_text(table: Any, x: str | None, y: str | None, metric: str, width: int) -> Text:
    """The pair view: rows are ``y``'s values, columns ``x``'s; mean and count per cell."""
    if table is None or x is None or y is None:
        return Text(
            "pair view: needs two params and 3 completed trials (v: first param, b: second)",
            style="dim",
        )
    from kttui.analysis.pairgrid import pair_grid

    grid = pair_grid(table, x, y)
    if grid is None:
        return Text(f"pair view: {x} × {y} cannot be gridded", style="dim")
    span = grid.span()
    out = Text(
        f"pair view: mean {metric} per cell, n = trials, · untested "
        f"({grid.untested} cells); v/b: params\n",
        style="bold",
    )
    label_w = min(10, max([len(y), *(len(v) for v in grid.y.labels)]))
    cols = max(1, (width - label_w - 1) // CELL)
    shown = grid.x.labels[:cols]
    out.append(f"{y[:label_w]:>{label_w}} ╲ {x}\n", style="dim")
    out.append(" " * (label_w + 1) + "".join(f"{v[: CELL - 1]:^{CELL - 1}} " for v in shown))
    out.append("\n")
    for j in reversed(range(len(grid.y.labels))):
        out.append(f"{grid.y.labels[j][:label_w]:>{label_w}} ")
        for i in range(len(shown)):
            mean, n = grid.mean[j][i], grid.count[j][i]
            if mean is None or span is None:
                out.append(f"{'·':^{CELL - 1}} ", style="dim")
                continue
            cell = f"{mean:.3g} {n}"
            style = f"black on {_colour(mean, span[0], span[1], grid.maximize)}"
            out.append(f"{cell[: CELL - 1]:^{CELL - 1}}", style=style)
            out.append(" ")
        out.append("\n")
    if len(shown) < len(grid.x.labels):
        out.append(f"({len(grid.x.labels) - len(shown)} more {x} columns: widen the pane)\n")
    return out
