"""One trial's learning curve, for the trial detail screen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual_plotext import PlotextPlot

from kttui.tui.guard import SafeRender
from kttui.tui.widgets.charts import thin


class TrialCurve(SafeRender, PlotextPlot):
    """One trial's objective per epoch (the detail screen)."""

    guard_name = "curve"

    def show(self, metrics: Sequence[Mapping[str, object]], metric: str) -> None:
        points = [
            (int(rec["epoch"]), float(rec[metric]))  # type: ignore[call-overload,arg-type]
            for rec in metrics
            if isinstance(rec.get("epoch"), int) and isinstance(rec.get(metric), int | float)
        ]
        plt = self.plt
        plt.clear_figure()
        if points:
            xs, ys = thin([p[0] for p in points], [p[1] for p in points])
            plt.plot(xs, ys, marker="braille")
            plt.title(f"{metric} per epoch")
            plt.xlabel("epoch")
        else:
            plt.title(f"{metric} per epoch: no epoch yet")
        self.refresh()
