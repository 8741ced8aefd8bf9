"""The dashboard's panes behind error boundaries.

Each pane widget is wrapped here rather than in its own module, so the widgets
stay about what they draw and every pane the dashboard shows is guarded the
same way (:class:`kttui.tui.guard.SafeRender`): a render that raises shows one
line of error in the pane, the traceback goes to ``console.log``.
"""

from __future__ import annotations

from kttui.tui.guard import SafeRender
from kttui.tui.widgets.charts import ChartPane
from kttui.tui.widgets.gpu_pane import GpuPane
from kttui.tui.widgets.log_pane import LogPane
from kttui.tui.widgets.trial_table import TrialTable


class SafeTrialTable(SafeRender, TrialTable):
    guard_name = "trials"


class SafeChartPane(SafeRender, ChartPane):
    guard_name = "chart"


class SafeLogPane(SafeRender, LogPane):
    guard_name = "log"


class SafeGpuPane(SafeRender, GpuPane):
    guard_name = "gpus"
