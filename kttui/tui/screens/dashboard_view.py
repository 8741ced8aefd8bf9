"""The dashboard's view choices: panes, charts, sort and filter, remembered per session.

Kept apart from the screen (which lays out and routes) so what the user looks
at, and how it is restored on the next `kttui attach`, is read in one place.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input

from kttui.service.rows import RunnerView
from kttui.tui.guard import guarded
from kttui.tui.screens.dashboard_actions import DashboardCommands
from kttui.tui.view_state import ViewState
from kttui.tui.widgets.charts import CHARTS, TITLES, ChartPane
from kttui.tui.widgets.gpu_pane import GpuPane
from kttui.tui.widgets.log_pane import LogPane
from kttui.tui.widgets.tab_strip import TabStrip
from kttui.tui.widgets.trial_columns import ALIASES
from kttui.tui.widgets.trial_table import TrialTable

PANES = ("trials", "chart", "log", "advice", "gpus")
PANE_TITLES = {
    "trials": "Trials",
    "chart": "Chart",
    "log": "Log",
    "advice": "Advice",
    "gpus": "GPUs",
}


class DashboardView(DashboardCommands):
    """Pane, chart, sort and filter choices of the dashboard."""

    selected: reactive[int | None] = reactive(None)
    chart_kind: reactive[str] = reactive("curves")
    slice_param: reactive[str | None] = reactive(None)
    current_pane: reactive[str] = reactive("trials")
    narrow: reactive[bool] = reactive(False)
    runner: reactive[RunnerView] = reactive(RunnerView("created"), always_update=False)

    view: ViewState
    params: list[str]
    metric: str
    _filter_timer: Timer | None

    def _restore_view(self, table: TrialTable) -> None:
        view = self.view
        if view.sort_column in table.column_ids:
            table.set_sort(view.sort_column, view.sort_reverse)
        self.chart_kind = view.chart if view.chart in CHARTS else "curves"
        self.slice_param = view.slice_param if view.slice_param in self.params else None
        if self.slice_param is None and self.params:
            self.slice_param = self.params[0]
        if view.pane in PANES:
            self.current_pane = view.pane
        box = self.query_one("#filter", Input)
        box.display = bool(view.filter)
        if view.filter:
            box.value = view.filter
            table.set_filter(view.filter)
        self._update_trials_title()

    def _remember(self) -> None:
        table = self.query_one(TrialTable)
        view = ViewState(
            sort_column=table.sort_column,
            sort_reverse=table.sort_reverse,
            filter=table.filter.text,
            pane=self.current_pane,
            chart=self.chart_kind,
            slice_param=self.slice_param,
        )
        if view != self.view:
            self.view = view
            view.save(self.session.path)

    def _update_tabs(self) -> None:
        title = self.query_one(f"#pane-{self.current_pane}").border_title
        note = str(title) if title and self.current_pane in ("trials", "log") else ""
        self.query_one(TabStrip).show(PANES, PANE_TITLES, self.current_pane, note)

    def _pane_widget(self, pane: str) -> Any:
        widget = {"trials": TrialTable, "chart": ChartPane, "log": LogPane, "gpus": GpuPane}.get(
            pane
        )
        return self.query_one(widget) if widget else self.query_one("#pane-advice")

    def _show_pane(self, pane: str) -> None:
        self.current_pane = pane
        self._pane_widget(pane).focus()
        self._remember()

    def _chart_title(self) -> str:
        return f"Chart: {TITLES[self.chart_kind]} (c: next)"

    def _update_trials_title(self) -> None:
        table = self.query_one(TrialTable)
        arrow = "▼" if table.sort_reverse else "▲"
        title = f"Trials {table.row_count}"
        if table.filter.text:
            title += f"/{len(table.rows_by_number)} (filter: {table.filter.text})"
        title += f"  sort: {table.column_label(table.sort_column)} {arrow}"
        unknown = self.unknown_filter_names(table.filter.text)
        if unknown:
            title += f"  ⚠ no param, metric or column named {', '.join(unknown)}"
        self.query_one("#pane-trials").border_title = title
        self._update_tabs()

    def _set_chart(self, kind: str) -> None:
        self.chart_kind = kind
        self.query_one("#pane-chart").border_title = self._chart_title()
        if self.narrow and self.current_pane != "chart":
            self._show_pane("chart")
        self._remember()

    def action_cycle_chart(self) -> None:
        index = CHARTS.index(self.chart_kind) if self.chart_kind in CHARTS else -1
        self._set_chart(CHARTS[(index + 1) % len(CHARTS)])

    def action_slice_param(self) -> None:
        if self.params:
            index = self.params.index(self.slice_param) if self.slice_param in self.params else -1
            self.slice_param = self.params[(index + 1) % len(self.params)]
        self._set_chart(self.chart_kind if self.chart_kind == "pair" else "slice")

    def action_pair_view(self) -> None:
        if self.chart_kind == "pair":
            self.query_one(ChartPane).next_pair_param()
        self._set_chart("pair")

    def action_toggle_legend(self) -> None:
        chart = self.query_one(ChartPane)
        chart.legend = not chart.legend

    def action_toggle_wrap(self) -> None:
        log = self.query_one(LogPane)
        log.toggle_wrap()
        self.query_one("#pane-log").border_title = log.title()

    def action_filter(self) -> None:
        if self.narrow:
            self.current_pane = "trials"
        box = self.query_one("#filter", Input)
        box.display = True
        self.app.set_focus(box)  # now, so keys typed right after / reach it

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(0.15, lambda: self._apply_filter(value))

    def unknown_filter_names(self, text: str) -> list[str]:
        """Names in ``name<op>value`` terms that are no column, param or metric."""
        table = self.query_one(TrialTable)
        names = [t[0] for t in type(table.filter)(text).terms() if isinstance(t, tuple)]
        if not names:
            return []
        known = {c.removeprefix("p:") for c in table.column_ids} | set(ALIASES) | {self.metric}
        known |= table.param_names
        return [n for n in names if n not in known]

    @guarded("trials")
    def _apply_filter(self, text: str, *, final: bool = False) -> None:
        table = self.query_one(TrialTable)
        if text != table.filter.text:
            table.set_filter(text)
        self._update_trials_title()
        unknown = self.unknown_filter_names(text)
        if unknown and final:
            self.notify(
                f"filter: no param, metric or column named {', '.join(unknown)} "
                f"(known: {', '.join(table.column_label(c) for c in table.column_ids)})",
                severity="warning",
            )
        self._remember()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._apply_filter(event.value, final=True)
        if not event.value:
            self.query_one("#filter").display = False
        self.query_one(TrialTable).focus()

    def action_sort(self) -> None:
        self.query_one(TrialTable).cycle_sort()
        self._update_trials_title()
        self._remember()

    def action_reverse_sort(self) -> None:
        table = self.query_one(TrialTable)
        self.sort_by(table.sort_column, not table.sort_reverse)

    def sort_by(self, column: str, reverse: bool = False) -> None:
        self.query_one(TrialTable).set_sort(column, reverse)
        self._update_trials_title()
        self._remember()

    def action_next_pane(self) -> None:
        self._show_pane(PANES[(PANES.index(self.current_pane) + 1) % len(PANES)])

    def action_previous_pane(self) -> None:
        self._show_pane(PANES[(PANES.index(self.current_pane) - 1) % len(PANES)])

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            box.value = ""
            self._apply_filter("")
            box.display = False
            self.query_one(TrialTable).focus()
            return
        if len(self.app.screen_stack) > 2:
            self.dismiss(None)

    def watch_narrow(self, narrow: bool) -> None:
        self.set_class(narrow, "-narrow")
        self._update_tabs()

    def watch_current_pane(self, pane: str) -> None:
        for name in PANES:
            self.query_one(f"#pane-{name}").set_class(name == pane, "-current")
        self._update_tabs()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """Extra command palette entries: sort by each column."""
        table = self.query_one(TrialTable)
        out = []
        for column in table.column_ids:
            label = table.column_label(column)
            out.append((f"Sort trials by {label}", f"ascending {label}", (column, False)))
            out.append((f"Sort trials by {label} (descending)", "", (column, True)))
        return out
