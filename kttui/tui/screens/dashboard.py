"""The sweep dashboard: trials, charts, the selected trial's log, advice and GPUs.

One background thread follows the session (:class:`kttui.service.SessionWatcher`)
and the selected trial's output, and posts what changed; the screen owns the
reactive state (selection, chart, pane) and binds it into its widgets. Wide
terminals show every pane; narrow ones (80×24) show one pane at a time as tabs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Markdown, Static
from textual.worker import get_current_worker

from kttui import service
from kttui.chartdata import TOP_K, top_trials
from kttui.service import (
    GpuSnapshot,
    LogFollower,
    RunnerView,
    ServiceError,
    SessionDelta,
    SessionWatcher,
    TrialRow,
)
from kttui.session import Session
from kttui.tui.messages import (
    CommandDone,
    CurveLoaded,
    EditSpec,
    GpuPolled,
    LogRead,
    NewSweep,
    SessionChanged,
    StatsReady,
)
from kttui.tui.screens.dialogs import ConfirmScreen
from kttui.tui.widgets.charts import CHARTS, TITLES, ChartData, ChartPane
from kttui.tui.widgets.gpu_pane import GpuPane
from kttui.tui.widgets.header import HeaderInfo, SessionHeader, elapsed_and_eta, parse_ts
from kttui.tui.widgets.log_pane import LogPane
from kttui.tui.widgets.trial_table import TrialTable

PANES = ("trials", "chart", "log", "advice", "gpus")
PANE_TITLES = {
    "trials": "Trials",
    "chart": "Chart",
    "log": "Log",
    "advice": "Advice",
    "gpus": "GPUs",
}
#: Below this size the panes become tabs.
WIDE_MIN = (120, 34)
GPU_EVERY_S = 2.0
STATS_EVERY_S = 3.0
MAX_LOADED_CURVES = 64
#: The trial table is re-rendered at most this often (seconds).
TABLE_EVERY_S = 0.12


def merge_delta(into: SessionDelta, more: SessionDelta) -> SessionDelta:
    """One delta saying what two consecutive deltas said."""
    rows = {r.number: r for r in into.rows}
    rows.update((r.number, r) for r in more.rows)
    points = {n: list(p) for n, p in into.points.items()}
    for n, p in more.points.items():
        points.setdefault(n, []).extend(p)
    return SessionDelta(
        rows=list(rows.values()),
        points=points,
        runner=more.runner or into.runner,
        initial=into.initial or more.initial,
    )


class DashboardScreen(Screen[None]):
    """The live view of one session."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause", id="dashboard.pause", tooltip="Pause launching trials"),
        Binding(
            "r",
            "resume",
            "Resume",
            id="dashboard.resume",
            tooltip="Resume launching (or restart a stopped or crashed runner)",
        ),
        Binding("s", "stop", "Stop", id="dashboard.stop", tooltip="Stop gracefully"),
        Binding("k", "kill", "Kill", id="dashboard.kill", tooltip="Kill the selected trial"),
        Binding(
            "x", "export", "Export", id="dashboard.export", tooltip="Export report.md", show=False
        ),
        Binding(
            "c",
            "cycle_chart",
            "Chart",
            id="dashboard.chart",
            tooltip="Next chart: curves, best so far, slice, importance",
        ),
        Binding(
            "v",
            "slice_param",
            "Slice param",
            id="dashboard.slice",
            show=False,
            tooltip="Slice plot of the next param",
        ),
        Binding(
            "b",
            "pair_view",
            "Pair view",
            id="dashboard.pair",
            show=False,
            tooltip="Pair view: mean objective per cell of two params (b: next second param)",
        ),
        Binding(
            "l",
            "toggle_legend",
            "Legend",
            id="dashboard.legend",
            show=False,
            tooltip="Show or hide the chart legend (drawn below the chart)",
        ),
        Binding(
            "w",
            "toggle_wrap",
            "Wrap log",
            id="dashboard.wrap",
            show=False,
            tooltip="Wrap the log's long lines, or scroll them sideways",
        ),
        Binding("slash", "filter", "Filter", id="dashboard.filter", tooltip="Filter the trials"),
        Binding(
            "o",
            "sort",
            "Sort column",
            id="dashboard.sort",
            show=False,
            tooltip="Sort the trials by the next column",
        ),
        Binding("O", "reverse_sort", "Reverse sort", id="dashboard.reverse", show=False),
        Binding("enter", "detail", "Detail", id="dashboard.detail", tooltip="Trial detail"),
        Binding(
            "tab",
            "next_pane",
            "Panes",
            id="dashboard.next_pane",
            show=False,
            tooltip="Next pane (trials, chart, log, advice, GPUs)",
        ),
        Binding(
            "shift+tab", "previous_pane", "Previous pane", id="dashboard.prev_pane", show=False
        ),
        Binding("e", "edit_spec", "Edit spec", id="dashboard.edit", show=False),
        Binding("n", "new_sweep", "New sweep", id="dashboard.new", show=False),
        Binding(
            "escape",
            "back",
            "Sessions",
            id="dashboard.back",
            show=False,
            tooltip="Back to the sessions (the sweep goes on)",
        ),
    ]

    selected: reactive[int | None] = reactive(None)
    chart_kind: reactive[str] = reactive("curves")
    slice_param: reactive[str | None] = reactive(None)
    current_pane: reactive[str] = reactive("trials")
    narrow: reactive[bool] = reactive(False)
    runner: reactive[RunnerView] = reactive(RunnerView("created"), always_update=False)

    def __init__(self, session: Session, *, poll_s: float = 0.05) -> None:
        super().__init__()
        self.session = session
        self.poll_s = poll_s
        info = session.info()
        objective = info.get("objective") or {}
        self.metric = str(objective.get("metric") or "value")
        self.maximizing = objective.get("direction", "maximize") != "minimize"
        baseline = (info.get("baseline") or {}).get("value")
        self.baseline = float(baseline) if isinstance(baseline, int | float) else None
        target = info.get("target")
        self.target = float(target) if isinstance(target, int | float) else None
        self._created_ts = parse_ts(info.get("created"))
        self.params = service.space_params(session)
        self.curves: dict[int, list[tuple[int, float]]] = {}
        self._loaded_curves: list[int] = []
        self._log_target: int | None = None
        self._inflight = threading.Event()
        self._filter_timer: Timer | None = None
        self.loaded = False
        self.counts: dict[str, int] = {}
        self.best: TrialRow | None = None
        self._table_pending: dict[int, TrialRow] = {}
        self._table_flushed = 0.0
        self._table_timer: Timer | None = None
        self.gpus: GpuSnapshot | None = None
        self.data = ChartData(
            curves=self.curves,
            metric=service.curve_label(session, self.metric),
            maximize=self.maximizing,
            baseline=self.baseline,
            target=self.target,
            baseline_label=str((info.get("baseline") or {}).get("label") or "baseline"),
            params=self.params,
            log_params=service.log_params(session),
        )

    # -- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield SessionHeader(id="session-bar")
        yield Static(id="pane-tabs")
        with Container(id="panes"):
            with Vertical(id="pane-trials", classes="pane"):
                yield TrialTable(id="trials")
                yield Input(
                    placeholder="filter: text, lr<0.01, state=running (enter keep, esc clear)",
                    id="filter",
                )
            with Vertical(id="pane-chart", classes="pane"):
                yield ChartPane(id="chart").data_bind(
                    kind=DashboardScreen.chart_kind,
                    selected=DashboardScreen.selected,
                    slice_param=DashboardScreen.slice_param,
                )
            with VerticalScroll(id="pane-advice", classes="pane"):
                yield Markdown("*waiting for trials…*", id="advice")
            with Vertical(id="pane-log", classes="pane"):
                yield LogPane(id="log")
            with Vertical(id="pane-gpus", classes="pane"):
                yield GpuPane(id="gpus")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(TrialTable)
        table.setup(self.params)
        self.query_one(ChartPane).set_data(self.data)
        self.slice_param = self.params[0] if self.params else None
        for pane in PANES:
            widget = self.query_one(f"#pane-{pane}")
            widget.border_title = PANE_TITLES[pane]
        self.query_one("#pane-chart").border_title = self._chart_title()
        self.query_one("#filter").display = False
        self.set_interval(1.0, table.tick)
        self._update_bar()
        self._update_tabs()
        self.watch_session()
        table.focus()

    def on_resize(self) -> None:
        width, height = self.size
        self.narrow = width < WIDE_MIN[0] or height < WIDE_MIN[1]
        self._update_bar()

    def watch_narrow(self, narrow: bool) -> None:
        self.set_class(narrow, "-narrow")
        self._update_tabs()

    def watch_current_pane(self, pane: str) -> None:
        for name in PANES:
            self.query_one(f"#pane-{name}").set_class(name == pane, "-current")
        self._update_tabs()

    def _update_tabs(self) -> None:
        parts = []
        for i, pane in enumerate(PANES):
            if i:
                parts.append((" │ ", "dim"))
            style = "reverse bold" if pane == self.current_pane else ""
            parts.append((f" {PANE_TITLES[pane]} ", style))
        title = self.query_one(f"#pane-{self.current_pane}").border_title
        if title and self.current_pane in ("trials", "log"):
            parts.append((f"  {title}", "dim"))
        self.query_one("#pane-tabs", Static).update(Text.assemble(*parts))

    def _pane_widget(self, pane: str) -> Any:
        return {
            "trials": self.query_one(TrialTable),
            "chart": self.query_one(ChartPane),
            "log": self.query_one(LogPane),
            "advice": self.query_one("#pane-advice"),
            "gpus": self.query_one(GpuPane),
        }[pane]

    def _show_pane(self, pane: str) -> None:
        self.current_pane = pane
        self._pane_widget(pane).focus()

    def _chart_title(self) -> str:
        return f"Chart: {TITLES[self.chart_kind]} (c: next)"

    # -- the session bar ----------------------------------------------------------------
    def _update_bar(self) -> None:
        counts, best, runner = self.counts, self.best, self.runner
        rows = self.query_one(TrialTable).rows_by_number.values()
        elapsed, eta = elapsed_and_eta(
            self._created_ts, rows, counts, runner.budget, alive=runner.alive
        )
        info = HeaderInfo(
            name=self.session.id,
            state=runner.state,
            counts=dict(counts),
            budget=runner.budget,
            metric=self.metric,
            best_value=best.value if best is not None else None,
            best_trial=best.number if best is not None else None,
            elapsed_s=elapsed,
            eta_s=eta,
            reason=runner.reason if runner.state != "running" else "",
        )
        self.query_one(SessionHeader).show(info)

    def watch_runner(self) -> None:
        if self.is_mounted:
            self._update_bar()
            self.refresh_bindings()

    # -- the background reader ----------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="watch")
    def watch_session(self) -> None:
        worker = get_current_worker()
        watcher = SessionWatcher(self.session)
        follower: LogFollower | None = None
        carry: SessionDelta | None = None
        next_gpu = next_stats = 0.0
        stats_for = -1
        loading: set[int] = set()
        backend = service.session_backend(self.session)
        try:
            while not worker.is_cancelled:
                delta = watcher.poll()
                if delta:
                    carry = delta if carry is None else merge_delta(carry, delta)
                if carry is not None and not self._inflight.is_set():
                    self._inflight.set()
                    self.post_message(SessionChanged(carry))
                    carry = None
                target = self._log_target
                if follower is None or follower.number != target:
                    if follower is not None:
                        follower.close()
                    follower = LogFollower(self.session, target) if target is not None else None
                    lines = follower.read() if follower is not None else []
                    self.post_message(LogRead(target, lines, reset=True))
                elif follower is not None:
                    lines = follower.read()
                    if lines:
                        self.post_message(LogRead(target, lines))
                if (
                    target is not None
                    and target not in watcher.series
                    and target not in self.curves
                    and target not in loading
                ):
                    loading.add(target)
                    series = service.read_series(self.session, target, watcher.metric)
                    self.post_message(CurveLoaded(target, series))
                now = time.monotonic()
                if now >= next_gpu:
                    next_gpu = now + GPU_EVERY_S
                    self.post_message(
                        GpuPolled(service.gpu_snapshot(watcher.rows.values(), backend=backend))
                    )
                    for number in top_trials(watcher.rows.values(), TOP_K, watcher.maximize):
                        known = number in watcher.series or number in self.curves
                        if not known and number not in loading:
                            loading.add(number)
                            series = service.read_series(self.session, number, watcher.metric)
                            self.post_message(CurveLoaded(number, series))
                counts = watcher.counts()
                done = counts.get("complete", 0) + counts.get("fail", 0)
                if done != stats_for and now >= next_stats:
                    stats_for, next_stats = done, now + STATS_EVERY_S
                    rows = list(watcher.rows.values())
                    stats = service.session_stats(
                        self.session, rows, maximize=watcher.maximize, metric=watcher.metric
                    )
                    self.post_message(StatsReady(stats.markdown, stats.analysis))
                worker.cancelled_event.wait(self.poll_s)
        finally:
            watcher.close()
            if follower is not None:
                follower.close()

    def on_session_changed(self, message: SessionChanged) -> None:
        delta = message.delta
        table = self.query_one(TrialTable)
        try:
            if delta.runner is not None:
                self.runner = delta.runner
            if delta.counts is not None:
                self.counts, self.best = delta.counts, delta.best
            if delta.rows:
                self._queue_rows(delta.rows)
            for number, points in delta.points.items():
                self.curves.setdefault(number, []).extend(points)
            if delta.rows or delta.points:
                self.data.rows = table.rows_by_number
                self.query_one(ChartPane).invalidate()
            self._update_bar()
            if delta.initial:
                self.loaded = True
        finally:
            self._inflight.clear()

    def _queue_rows(self, rows: list[TrialRow]) -> None:
        """Rows for the table, applied at most every TABLE_EVERY_S (a render each)."""
        self._table_pending.update((r.number, r) for r in rows)
        wait = self._table_flushed + TABLE_EVERY_S - time.monotonic()
        if wait <= 0:
            self._flush_rows()
        elif self._table_timer is None:
            self._table_timer = self.set_timer(wait, self._flush_rows)

    def _flush_rows(self) -> None:
        self._table_timer = None
        self._table_flushed = time.monotonic()
        rows, self._table_pending = list(self._table_pending.values()), {}
        if rows:
            table = self.query_one(TrialTable)
            table.apply(rows)
            self.data.rows = table.rows_by_number

    def on_log_read(self, message: LogRead) -> None:
        log = self.query_one(LogPane)
        if message.reset:
            log.show_trial(message.number)
            self.query_one("#pane-log").border_title = log.title()
        if message.number == log.trial:
            log.add(message.lines)
            if message.reset and not message.lines and message.number is not None:
                log.write(Text("(no output yet)", style="dim"))

    def on_curve_loaded(self, message: CurveLoaded) -> None:
        if message.number not in self.curves:
            self.curves[message.number] = message.series
            self._loaded_curves.append(message.number)
            while len(self._loaded_curves) > MAX_LOADED_CURVES:
                self.curves.pop(self._loaded_curves.pop(0), None)
        self.query_one(ChartPane).invalidate()

    def on_gpu_polled(self, message: GpuPolled) -> None:
        self.gpus = message.snapshot
        self.query_one(GpuPane).show(message.snapshot)

    def on_stats_ready(self, message: StatsReady) -> None:
        self.query_one("#advice", Markdown).update(message.markdown)
        self.data.analysis = message.analysis
        self.query_one(ChartPane).invalidate()

    @on(TrialTable.TrialHighlighted)
    def _trial_highlighted(self, message: TrialTable.TrialHighlighted) -> None:
        self.selected = message.number
        self._log_target = message.number
        self.refresh_bindings()

    @on(TrialTable.Filled)
    def _filled(self, message: TrialTable.Filled) -> None:
        self._update_trials_title()

    def _update_trials_title(self) -> None:
        table = self.query_one(TrialTable)
        arrow = "▼" if table.sort_reverse else "▲"
        title = f"Trials {table.row_count}"
        if table.filter.text:
            title += f"/{len(table.rows_by_number)} (filter: {table.filter.text})"
        title += f"  sort: {table.column_label(table.sort_column)} {arrow}"
        self.query_one("#pane-trials").border_title = title
        self._update_tabs()

    @on(TrialTable.TrialSelected)
    def _trial_selected(self, event: TrialTable.TrialSelected) -> None:
        event.stop()
        self.action_detail()

    # -- actions --------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.runner.state
        if action == "pause":
            return state == "running"
        if action == "resume":
            return state in ("paused", "stopped", "crashed")
        if action == "stop":
            return state in ("running", "paused")
        if action == "kill":
            row = self._selected_row()
            return self.runner.alive and row is not None and row.state == "running"
        if action == "detail":
            return self.selected is not None
        return True

    def _selected_row(self) -> TrialRow | None:
        if self.selected is None:
            return None
        return self.query_one(TrialTable).rows_by_number.get(self.selected)

    @work(thread=True, exit_on_error=False, group="control")
    def run_command(self, action: str, command: str, **args: Any) -> None:
        try:
            if command == "resume-runner":
                text = service.resume(self.session)
            elif command == "export":
                text = f"report written to {service.export_report(self.session)}"
            else:
                reply = service.control(self.session, command, **args)
                text = f"{command}: runner is {reply.get('state')}"
                if command == "kill":
                    text = f"trial {args.get('trial')} is being killed"
        except ServiceError as exc:
            self.post_message(CommandDone(action, False, str(exc)))
            return
        self.post_message(CommandDone(action, True, text))

    def on_command_done(self, message: CommandDone) -> None:
        self.notify(message.text, severity="information" if message.ok else "error")

    def action_pause(self) -> None:
        self.run_command("pause", "pause")

    def action_resume(self) -> None:
        if self.runner.state == "paused":
            self.run_command("resume", "resume")
        else:
            self.run_command("resume", "resume-runner")

    def action_stop(self) -> None:
        self.run_command("stop", "stop")

    def action_kill(self) -> None:
        row = self._selected_row()
        if row is None:
            return
        number = row.number

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_command("kill", "kill", trial=number)

        self.app.push_screen(
            ConfirmScreen(f"Kill trial {number} (its whole process tree)?"), answered
        )

    def action_export(self) -> None:
        self.run_command("export", "export")

    def action_cycle_chart(self) -> None:
        index = CHARTS.index(self.chart_kind) if self.chart_kind in CHARTS else -1
        self.chart_kind = CHARTS[(index + 1) % len(CHARTS)]
        self.query_one("#pane-chart").border_title = self._chart_title()
        if self.narrow and self.current_pane != "chart":
            self._show_pane("chart")

    def action_slice_param(self) -> None:
        if self.params:
            index = self.params.index(self.slice_param) if self.slice_param in self.params else -1
            self.slice_param = self.params[(index + 1) % len(self.params)]
        if self.chart_kind not in ("slice", "pair"):
            self.chart_kind = "slice"
            self.query_one("#pane-chart").border_title = self._chart_title()
        if self.narrow and self.current_pane != "chart":
            self._show_pane("chart")

    def action_pair_view(self) -> None:
        chart = self.query_one(ChartPane)
        if self.chart_kind == "pair":
            chart.next_pair_param()
        else:
            self.chart_kind = "pair"
            self.query_one("#pane-chart").border_title = self._chart_title()
        if self.narrow and self.current_pane != "chart":
            self._show_pane("chart")

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

    def _apply_filter(self, text: str) -> None:
        table = self.query_one(TrialTable)
        if text != table.filter.text:
            table.set_filter(text)
        self._update_trials_title()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._apply_filter(event.value)
        table = self.query_one(TrialTable)
        if not event.value:
            self.query_one("#filter").display = False
        table.focus()

    def action_sort(self) -> None:
        self.query_one(TrialTable).cycle_sort()
        self._update_trials_title()

    def action_reverse_sort(self) -> None:
        table = self.query_one(TrialTable)
        table.set_sort(table.sort_column, not table.sort_reverse)
        self._update_trials_title()

    def sort_by(self, column: str, reverse: bool = False) -> None:
        self.query_one(TrialTable).set_sort(column, reverse)
        self._update_trials_title()

    def action_detail(self) -> None:
        if self.selected is None:
            return
        from kttui.tui.screens.detail import TrialDetailScreen

        self.app.push_screen(TrialDetailScreen(self.session, self.selected))

    def action_next_pane(self) -> None:
        self._show_pane(PANES[(PANES.index(self.current_pane) + 1) % len(PANES)])

    def action_previous_pane(self) -> None:
        self._show_pane(PANES[(PANES.index(self.current_pane) - 1) % len(PANES)])

    def action_edit_spec(self) -> None:
        source, text = service.session_spec_source(self.session)
        if source is not None:
            self.post_message(EditSpec(source))
        else:
            name = self.session.info().get("name") or "spec"
            self.post_message(EditSpec(Path.cwd() / f"{name}.yaml", text))

    def action_new_sweep(self) -> None:
        self.post_message(NewSweep())

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

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        """Extra command palette entries: sort by each column."""
        table = self.query_one(TrialTable)
        out = []
        for column in table.column_ids:
            label = table.column_label(column)
            out.append((f"Sort trials by {label}", f"ascending {label}", (column, False)))
            out.append((f"Sort trials by {label} (descending)", "", (column, True)))
        return out
