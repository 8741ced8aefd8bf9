"""The chart pane: learning curves, best so far, a slice plot and importance bars.

The pane draws from data its screen hands it (rows, curves, importance); it
re-plots at most once a second however fast the data changes, and only while
it is visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from textual.reactive import reactive
from textual_plotext import PlotextPlot

from kttui.service import Importance, TrialRow, best_so_far, slice_points
from kttui.tui.guard import one_line, record

CHARTS = ("curves", "best", "slice", "importance")
TITLES = {
    "curves": "learning curves",
    "best": "best so far",
    "slice": "slice",
    "importance": "importance",
}
MAX_CURVES = 8
MAX_POINTS = 400


def thin(xs: Sequence[float], ys: Sequence[float], keep: int = MAX_POINTS) -> tuple[list, list]:
    """At most ``keep`` evenly spaced points (the last one always kept)."""
    if len(xs) <= keep:
        return list(xs), list(ys)
    step = len(xs) / keep
    idx = sorted({int(i * step) for i in range(keep)} | {len(xs) - 1})
    return [xs[i] for i in idx], [ys[i] for i in idx]


@dataclass
class ChartData:
    """Everything the charts draw; the screen fills it, the pane reads it."""

    rows: Mapping[int, TrialRow] = field(default_factory=dict)
    curves: Mapping[int, Sequence[tuple[int, float]]] = field(default_factory=dict)
    importance: Sequence[Importance] = ()
    metric: str = "value"
    maximize: bool = True
    baseline: float | None = None
    target: float | None = None
    params: Sequence[str] = ()


class ChartPane(PlotextPlot):
    """One chart at a time; ``kind`` picks which."""

    kind: reactive[str] = reactive("curves")
    selected: reactive[int | None] = reactive(None)
    slice_param: reactive[str | None] = reactive(None)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data = ChartData()
        self._dirty = True

    def on_mount(self) -> None:
        self.set_interval(1.0, self._maybe_replot)
        self.replot()

    def set_data(self, data: ChartData) -> None:
        self.data = data
        self._dirty = True

    def invalidate(self) -> None:
        self._dirty = True

    def watch_kind(self) -> None:
        self.replot()

    def watch_selected(self) -> None:
        self._dirty = True

    def watch_slice_param(self) -> None:
        if self.kind == "slice":
            self.replot()

    def _maybe_replot(self) -> None:
        if self._dirty and self.display and self.is_on_screen:
            self.replot()

    def replot(self) -> None:
        self._dirty = False
        plt = self.plt
        plt.clear_figure()
        data = self.data
        draw = {
            "curves": self._curves,
            "best": self._best,
            "slice": self._slice,
            "importance": self._importance,
        }[self.kind]
        try:
            draw(data)
        except Exception as exc:  # one line in the pane; the console goes on
            plt.clear_figure()
            plt.title(one_line("chart", exc))
            record(self, "chart", exc)
        self.refresh()

    def _empty(self, title: str, why: str) -> None:
        self.plt.title(f"{title}: {why}")

    def _curves(self, data: ChartData) -> None:
        plt = self.plt
        numbers = [n for n in data.curves if data.curves[n]]
        running = [n for n in numbers if n in data.rows and data.rows[n].state == "running"]
        chosen = running[-MAX_CURVES + 1 :]
        # a running trial with no epoch yet has an empty curve: plotext fails on a
        # labelled series without points (IndexError), so only curves with points
        if self.selected is not None and self.selected in numbers:
            chosen = [n for n in chosen if n != self.selected] + [self.selected]
        if not chosen:
            self._empty("learning curves", "no epochs yet for the selected or running trials")
            return
        for n in chosen:
            xs, ys = thin([p[0] for p in data.curves[n]], [p[1] for p in data.curves[n]])
            label = f"#{n}" + (" (selected)" if n == self.selected else "")
            plt.plot(xs, ys, label=label, marker="braille")
        plt.title(f"{data.metric} per epoch: selected and running trials")
        plt.xlabel("epoch")

    def _best(self, data: ChartData) -> None:
        plt = self.plt
        points = best_so_far(data.rows.values(), data.maximize)
        if not points:
            self._empty("best so far", "no completed trial yet")
            return
        done = sorted(
            (r.number, r.value)
            for r in data.rows.values()
            if r.state == "complete" and r.value is not None
        )
        xs, ys = thin([p[0] for p in done], [float(p[1] or 0.0) for p in done], 1500)
        plt.scatter(xs, ys, marker="dot", label="trial")
        bx, by = thin([p[0] for p in points], [p[1] for p in points])
        plt.plot(bx, by, label="best so far", marker="braille")
        lo, hi = points[0][0], points[-1][0]
        if data.baseline is not None:
            plt.plot([lo, hi], [data.baseline, data.baseline], label=f"baseline {data.baseline:g}")
        if data.target is not None:
            plt.plot([lo, hi], [data.target, data.target], label=f"target {data.target:g}")
        plt.title(f"best {data.metric} vs trial number")
        plt.xlabel("trial")

    def _slice(self, data: ChartData) -> None:
        plt = self.plt
        param = self.slice_param or (data.params[0] if data.params else None)
        if param is None:
            self._empty("slice", "no params")
            return
        xs, ys, labels = slice_points(data.rows.values(), param)
        if not xs:
            self._empty(f"slice of {param}", "no completed trial yet")
            return
        xs, ys = thin(xs, ys, 2000)
        plt.scatter(xs, ys, marker="dot")
        if labels:
            plt.xticks(list(range(len(labels))), labels)
        plt.title(f"{data.metric} vs {param} (completed trials; v: next param)")
        plt.xlabel(param)

    def _importance(self, data: ChartData) -> None:
        plt = self.plt
        if not data.importance:
            self._empty("importance", "needs 5 completed trials")
            return
        names = [i.param for i in data.importance][::-1]
        scores = [round(i.score, 3) for i in data.importance][::-1]
        plt.bar(names, scores, orientation="horizontal", width=0.3)
        plt.xlim(0, 1)
        plt.title("|Spearman rho| of param vs objective (monotonic effects only)")
