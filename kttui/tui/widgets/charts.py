"""The chart pane: learning curves, best so far, a slice plot, importance bars, a pair view.

The pane draws from data its screen hands it (rows, curves, the report's
analysis); every number comes from :mod:`kttui.chartdata` or
:mod:`kttui.analysis`. It re-plots at most about once a second however fast the
data changes (right away when the last plot is older: in the same frame as the
rows that changed it), only while it is visible (a hidden pane that was
invalidated re-plots when shown), and only when what it draws changed (a cheap
fingerprint of the shown series is compared first). No timer runs while nothing
changes. The legend is drawn below the plot,
never over the data (``l`` hides it); importance and the pair view are text,
so bars and cells line up with their labels exactly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static
from textual_plotext import PlotextPlot

from kttui.chartdata import (
    TOP_K,
    best_so_far,
    chart_importance,
    clean_series,
    completed_points,
    curve_numbers,
    int_ticks,
    slice_points,
)
from kttui.safetext import format_value
from kttui.service.rows import TrialRow
from kttui.tui.guard import one_line, record
from kttui.tui.widgets.pair_view import importance_text, pair_text

CHARTS = ("curves", "best", "slice", "importance")
TITLES = {
    "curves": "learning curves",
    "best": "best so far",
    "slice": "slice",
    "importance": "importance",
    "pair": "pair view",
}
MAX_POINTS = 400
#: At most one re-plot per this many seconds (a little under the feed's frame, so
#: a frame's change is drawn in that frame despite timer jitter).
REPLOT_EVERY_S = 0.9
#: Series colours: (plotext name, rich style), told apart on 256-colour terminals.
COLOURS = (
    ("cyan", "cyan"),
    ("orange", "dark_orange"),
    ("magenta", "magenta"),
    ("green", "green"),
    ("blue", "blue"),
    ("red", "red"),
)
SELECTED_COLOUR = ("white", "bold white")
REFERENCE_COLOUR = ("gray", "grey50")


def thin(xs: Sequence[float], ys: Sequence[float], keep: int = MAX_POINTS) -> tuple[list, list]:
    """At most ``keep`` evenly spaced points (the last one always kept)."""
    if len(xs) <= keep:
        return list(xs), list(ys)
    step = len(xs) / keep
    idx = sorted({int(i * step) for i in range(keep)} | {len(xs) - 1})
    return [xs[i] for i in idx], [ys[i] for i in idx]


def legend_text(entries: Sequence[tuple[str, str]], width: int) -> Text:
    """Legend entries packed into lines of ``width`` cells, never split inside an entry."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    used = 0
    for text, style in entries:
        if used and used + 2 + len(text) > width:
            out.append("\n")
            used = 0
        elif used:
            out.append("  ")
            used += 2
        out.append(text, style=style)
        used += len(text)
    return out


@dataclass
class ChartData:
    """Everything the charts draw; the screen fills it, the pane reads it."""

    rows: Mapping[int, TrialRow] = field(default_factory=dict)
    curves: Mapping[int, Sequence[tuple[int, float]]] = field(default_factory=dict)
    analysis: Any = None  # kttui.analysis.overview.Analysis of the advice pane
    metric: str = "value"
    maximize: bool = True
    baseline: float | None = None
    target: float | None = None
    baseline_label: str = "baseline"
    target_label: str = "target"
    params: Sequence[str] = ()
    log_params: frozenset[str] = frozenset()
    top_k: int = TOP_K


class _Plot(PlotextPlot):
    """The plotext canvas of the pane."""


class ChartPane(Vertical):
    """One chart at a time; ``kind`` picks which."""

    DEFAULT_CSS = """
    ChartPane > _Plot { height: 1fr; }
    ChartPane > #chart-legend { height: auto; max-height: 3; color: $text-muted; }
    ChartPane > #chart-text { height: 1fr; }
    """

    kind: reactive[str] = reactive("curves")
    selected: reactive[int | None] = reactive(None)
    slice_param: reactive[str | None] = reactive(None)
    pair_param: reactive[str | None] = reactive(None)
    legend: reactive[bool] = reactive(True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data = ChartData()
        self._dirty = True
        self._drawn: tuple[Any, ...] | None = None
        self._plotted_at = -REPLOT_EVERY_S
        self._legend: Text | None = None
        #: per trial: (the curve list, points cleaned so far, their xs, their ys)
        self._clean: dict[int, tuple[Sequence[Any], int, list[float], list[float]]] = {}
        self._timer: Timer | None = None
        #: how many times the chart was drawn (a watcher's cost; tests count it)
        self.replots = 0

    def compose(self) -> ComposeResult:
        yield _Plot()
        yield Static(id="chart-legend")
        yield Static(id="chart-text")

    @property
    def plt(self) -> Any:
        return self.query_one(_Plot).plt

    def on_mount(self) -> None:
        self.replot()

    def set_data(self, data: ChartData) -> None:
        self.data = data
        self.invalidate()

    def invalidate(self) -> None:
        """What the chart draws may have changed: re-plot when due (one timer, no interval)."""
        self._dirty = True
        if self._timer is None and self.is_mounted:
            wait = self._plotted_at + REPLOT_EVERY_S - time.monotonic()
            # when due: at once (10 ms, the least a timer takes), else when the last plot ages
            self._timer = self.set_timer(max(0.01, wait), self._maybe_replot)

    def on_show(self) -> None:
        if self._dirty:  # changed while hidden
            self.invalidate()

    def watch_kind(self) -> None:
        self.replot()

    def watch_selected(self) -> None:
        self.invalidate()

    def watch_slice_param(self) -> None:
        if self.kind in ("slice", "pair"):
            self.replot()

    def watch_pair_param(self) -> None:
        if self.kind == "pair":
            self.replot()

    def watch_legend(self) -> None:
        self.replot()

    def next_pair_param(self) -> str | None:
        """The pair view's second param: the next one that is not the first."""
        others = [p for p in self.data.params if p != self.slice_param]
        if others:
            index = others.index(self.pair_param) if self.pair_param in others else -1
            self.pair_param = others[(index + 1) % len(others)]
        return self.pair_param

    def _maybe_replot(self) -> None:
        self._timer = None
        if self._dirty and self.display and self.is_on_screen:
            self._dirty = False
            if self.fingerprint() != self._drawn:
                self.replot()

    def fingerprint(self) -> tuple[Any, ...]:
        """What the current chart depends on: equal fingerprints draw the same chart."""
        data = self.data
        key = (self.kind, self.selected, self.slice_param, self.pair_param, self.legend, self.size)
        if self.kind in ("importance", "pair"):
            return (*key, id(data.analysis))
        if self.kind == "curves":
            chosen = curve_numbers(data.rows, data.curves, self.selected, data.top_k, data.maximize)
            rows = data.rows
            shown = [
                (n, len(data.curves.get(n, ())), getattr(rows.get(n), "value", None))
                for n in chosen
            ]
            return (*key, tuple(shown))
        complete = sum(1 for r in data.rows.values() if r.state == "complete")
        return (*key, len(data.rows), complete)

    def replot(self) -> None:
        plot = next(iter(self.query(_Plot)), None)
        text = next(iter(self.query("#chart-text").results(Static)), None)
        if not self.is_mounted or plot is None or text is None:
            # not composed yet (a bound reactive's first value arrives before the
            # children on a screen opened mid-burst) or closing: draw once they are there
            self._dirty = True
            if self.is_mounted:
                self.call_after_refresh(self.invalidate)
            return
        self._dirty = False
        self._drawn = self.fingerprint()
        self._plotted_at = time.monotonic()
        self.replots += 1
        textual = self.kind in ("importance", "pair")
        plot.display, text.display = not textual, textual
        legend: list[tuple[str, str]] = []
        if textual:
            try:
                text.update(self._text_chart())
            except Exception as exc:  # one line in the pane; the console goes on
                text.update(record(self, "chart", exc))
        else:
            plt = plot.plt
            plt.clear_figure()
            draw = {"curves": self._curves, "best": self._best, "slice": self._slice}
            try:
                legend = draw.get(self.kind, self._curves)(plt, self.data)
            except Exception as exc:  # one line in the pane; the console goes on
                plt.clear_figure()
                plt.title(one_line("chart", exc))
                record(self, "chart", exc)
                legend = []
            plot.refresh()
        box = self.query_one("#chart-legend", Static)
        box.display = bool(legend) and self.legend
        shown = legend_text(legend, max(10, self.size.width))
        if shown != self._legend:
            # a new line count re-lays the screen out; new values on the same lines do not
            lines = shown.plain.count("\n")
            relayout = self._legend is None or lines != self._legend.plain.count("\n")
            self._legend = shown
            box.update(shown, layout=relayout)

    def _cleaned(
        self, number: int, curve: Sequence[tuple[int, float]]
    ) -> tuple[list[float], list[float]]:
        """A curve's finite points, cleaning only what was appended since the last plot.

        Curves only grow (a reloaded one is a new list): re-cleaning a whole curve each
        second cost time growing with the epochs of a long trial.
        """
        cached = self._clean.get(number)
        if cached is None or cached[0] is not curve or cached[1] > len(curve):
            cached = (curve, 0, [], [])
        xs, ys = clean_series(curve[cached[1] :])
        cached[2].extend(xs)
        cached[3].extend(ys)
        self._clean[number] = (curve, len(curve), cached[2], cached[3])
        return cached[2], cached[3]

    # -- plotext charts: each returns its legend (text, style) ---------------------
    def _references(self, plt: Any, data: ChartData) -> list[tuple[str, str]]:
        """Baseline and target as thin grey lines, drawn first so data is drawn over them."""
        out = []
        for name, value in ((data.baseline_label, data.baseline), (data.target_label, data.target)):
            if value is not None and clean_series([(0, value)])[0]:
                plt.hline(value, color=REFERENCE_COLOUR[0])
                out.append((f"┈ {name} {format_value(value)}", REFERENCE_COLOUR[1]))
        return out

    def _int_xticks(self, plt: Any, xs: Sequence[float]) -> None:
        if xs:
            ticks = int_ticks(min(xs), max(xs))
            plt.xticks(ticks, [str(t) for t in ticks])
            if min(xs) == max(xs):
                plt.xlim(min(xs) - 1, max(xs) + 1)

    def _curves(self, plt: Any, data: ChartData) -> list[tuple[str, str]]:
        chosen = curve_numbers(data.rows, data.curves, self.selected, data.top_k, data.maximize)
        # a braille cell is 2 dots wide: more points than dots draw nothing more
        keep = max(40, min(MAX_POINTS, 2 * self.size.width))
        series = []
        for n in chosen:
            xs, ys = self._cleaned(n, data.curves.get(n, []))
            if xs:
                series.append((n, *thin(xs, ys, keep)))
        self._clean = {n: c for n, c in self._clean.items() if n in chosen}
        if not series:
            plt.title("learning curves: no epoch reported yet by the best or selected trials")
            return []
        legend = self._references(plt, data)
        all_x: list[float] = []
        for i, (n, xs, ys) in enumerate(series):
            selected = n == self.selected
            colour = SELECTED_COLOUR if selected else COLOURS[i % len(COLOURS)]
            if len(xs) == 1:
                plt.scatter(xs, ys, marker="dot", color=colour[0])
            else:
                plt.plot(xs, ys, marker="braille", color=colour[0])
            row = data.rows.get(n)
            value = format_value(row.value if row and row.value is not None else ys[-1])
            tag = " (selected)" if selected else ""
            legend.append((f"━ #{n} {value}{tag}", colour[1]))
            all_x += xs
        self._int_xticks(plt, all_x)
        plt.title(f"{data.metric} per epoch: top {data.top_k} and the selected trial")
        plt.xlabel("epoch")
        return legend

    def _best(self, plt: Any, data: ChartData) -> list[tuple[str, str]]:
        points = best_so_far(data.rows.values(), data.maximize)
        if not points:
            plt.title("best so far: no completed trial yet")
            return []
        legend = self._references(plt, data)
        xs, ys = thin(*clean_series(completed_points(data.rows.values())), 1500)
        plt.scatter(xs, ys, marker="dot", color=COLOURS[4][0])
        bx, by = thin(*clean_series(points))
        if len(bx) > 1:
            plt.plot(bx, by, marker="braille", color=COLOURS[0][0])
        legend += [("• trial", COLOURS[4][1]), ("━ best so far", COLOURS[0][1])]
        self._int_xticks(plt, xs)
        plt.title(f"best {data.metric} vs trial number")
        plt.xlabel("trial")
        return legend

    def _slice(self, plt: Any, data: ChartData) -> list[tuple[str, str]]:
        param = self.slice_param or (data.params[0] if data.params else None)
        if param is None:
            plt.title("slice: no params")
            return []
        log = param in data.log_params
        xs, ys, labels = slice_points(data.rows.values(), param, log=log)
        if not xs:
            plt.title(f"slice of {param}: no completed trial yet")
            return []
        xs, ys = thin(xs, ys, 2000)
        if log and labels is None:
            plt.xscale("log")
        plt.scatter(xs, ys, marker="dot", color=COLOURS[0][0])
        if labels:
            plt.xticks(list(range(len(labels))), labels)
        elif min(xs) == max(xs):
            plt.xlim(min(xs) - 1, max(xs) + 1)
        scale = ", log scale" if log and labels is None else ""
        plt.title(f"{data.metric} vs {param} (completed trials{scale}; v: next param)")
        plt.xlabel(param)
        return []

    # -- text charts ----------------------------------------------------------------
    def _text_chart(self) -> Text:
        data = self.data
        analysis = data.analysis
        width = max(20, self.size.width)
        if self.kind == "importance":
            imp = chart_importance(getattr(analysis, "importance", None))
            return importance_text(imp, width)
        x = self.slice_param or (data.params[0] if data.params else None)
        y = self.pair_param
        if y is None or y == x:
            y = next((p for p in data.params if p != x), None)
        return pair_text(getattr(analysis, "table", None), x, y, data.metric, width)
