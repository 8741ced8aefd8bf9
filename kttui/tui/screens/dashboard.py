"""The sweep dashboard: trials, charts, the selected trial's log, advice and GPUs.

The screen lays out its widgets and routes messages: data arrives from
:class:`DashboardFeed` (three workers, one per update rate), runner commands
live in :class:`DashboardCommands`. Wide terminals show every pane; narrow
ones (80×24) show one pane at a time with a :class:`TabStrip`. Every handler
that updates a pane is an error boundary (:mod:`kttui.tui.guard`): a failure
shows one line in that pane and the rest keeps going.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Input

from kttui.service.gpus import GpuSnapshot
from kttui.service.rows import RunnerView, TrialRow
from kttui.service.specs import curve_label, log_params, space_params
from kttui.service.watch import SessionDelta
from kttui.session import Session
from kttui.tui.first_frame import after_first_frame
from kttui.tui.guard import guarded
from kttui.tui.messages import CurveLoaded, GpuPolled, LogRead, SessionChanged, StatsReady
from kttui.tui.screens.dashboard_feed import FRAME_S, DashboardFeed
from kttui.tui.screens.dashboard_view import PANE_TITLES, PANES, DashboardView
from kttui.tui.screens.safe_panes import SafeChartPane, SafeGpuPane, SafeLogPane, SafeTrialTable
from kttui.tui.view_state import ViewState
from kttui.tui.widgets.charts import ChartData, ChartPane
from kttui.tui.widgets.gpu_pane import GpuPane
from kttui.tui.widgets.header import HeaderInfo, SessionHeader, elapsed_and_eta, parse_ts
from kttui.tui.widgets.log_pane import LogPane
from kttui.tui.widgets.tab_strip import TabStrip
from kttui.tui.widgets.trial_table import TrialTable

if TYPE_CHECKING:
    from textual.widgets import Markdown

#: Below this size the panes become tabs.
WIDE_MIN = (120, 34)
MAX_LOADED_CURVES = 64
#: Actions whose enabled state (``check_action``) follows the runner or the selected trial.
DYNAMIC_ACTIONS = ("pause", "resume", "stop", "kill", "detail")


def _b(key: str, action: str, text: str, name: str, tip: str = "", show: bool = True) -> Binding:
    return Binding(key, action, text, id=f"dashboard.{name}", tooltip=tip, show=show)


class DashboardScreen(DashboardView):
    """The live view of one session."""

    BINDINGS: ClassVar[list[BindingType]] = [
        _b("p", "pause", "Pause", "pause", "Pause launching trials"),
        _b("r", "resume", "Resume", "resume", "Resume launching (or restart a stopped runner)"),
        _b("s", "stop", "Stop", "stop", "Stop gracefully (asks first)"),
        _b("k", "kill", "Kill", "kill", "Kill the selected trial (asks first)"),
        _b("x", "export", "Export", "export", "Export report.md", show=False),
        _b("c", "cycle_chart", "Chart", "chart", "Next chart: curves, best, slice, importance"),
        _b("v", "slice_param", "Slice param", "slice", "Slice plot of the next param", False),
        _b("b", "pair_view", "Pair view", "pair", "Pair view of two params (b: next)", False),
        _b("l", "toggle_legend", "Legend", "legend", "Show or hide the chart legend", False),
        _b("w", "toggle_wrap", "Wrap log", "wrap", "Wrap the log, or scroll it sideways", False),
        _b("slash", "filter", "Filter", "filter", "Filter the trials"),
        _b("o", "sort", "Sort column", "sort", "Sort the trials by the next column", False),
        _b("O", "reverse_sort", "Reverse sort", "reverse", show=False),
        _b("enter", "detail", "Detail", "detail", "Trial detail"),
        _b(
            "tab",
            "next_pane",
            "Panes",
            "next_pane",
            "Next pane (trials, chart, log, advice, GPUs)",
            False,
        ),
        _b("shift+tab", "previous_pane", "Previous pane", "prev_pane", show=False),
        _b("e", "edit_spec", "Edit spec", "edit", show=False),
        _b("n", "new_sweep", "New sweep", "new", show=False),
        _b("escape", "back", "Sessions", "back", "Back to the sessions (the sweep goes on)", False),
    ]

    def __init__(self, session: Session, *, frame_s: float = FRAME_S) -> None:
        super().__init__()
        self.session = session
        info = session.info()
        objective = info.get("objective") or {}
        self.metric = str(objective.get("metric") or "value")
        self.maximizing = objective.get("direction", "maximize") != "minimize"
        baseline = (info.get("baseline") or {}).get("value")
        self.baseline = float(baseline) if isinstance(baseline, int | float) else None
        target = info.get("target")
        self.target = float(target) if isinstance(target, int | float) else None
        created = parse_ts(info.get("created"))
        # a whole second, like a trial's start: every clock on screen steps on the same beat
        self._created_ts = float(int(created)) if created is not None else None
        self.params = space_params(session)
        self.view = ViewState.load(session.path)
        self.curves: dict[int, list[tuple[int, float]]] = {}
        self._loaded_curves: list[int] = []
        self._filter_timer: Timer | None = None
        self.loaded = False
        self.counts: dict[str, int] = {}
        self.best: TrialRow | None = None
        self.gpus: GpuSnapshot | None = None
        self._enabled: tuple[bool, ...] = ()
        #: the wall-clock second a row frame last drew each trial's line in
        self._drawn_at: dict[int, int] = {}
        self.feed = DashboardFeed(session, frame_s=frame_s)
        self.data = ChartData(
            curves=self.curves,
            metric=curve_label(session, self.metric),
            maximize=self.maximizing,
            baseline=self.baseline,
            target=self.target,
            baseline_label=str((info.get("baseline") or {}).get("label") or "baseline"),
            target_label=str(info.get("target_label") or "target"),
            params=self.params,
            log_params=log_params(session),
        )

    # -- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield SessionHeader(id="session-bar")
        yield TabStrip(id="pane-tabs")
        with Container(id="panes"):
            with Vertical(id="pane-trials", classes="pane"):
                yield SafeTrialTable(id="trials")
                yield Input(
                    placeholder="filter: text, lr<0.01, state=running (enter keep, esc clear)",
                    id="filter",
                )
            with Vertical(id="pane-chart", classes="pane"):
                yield SafeChartPane(id="chart").data_bind(
                    kind=DashboardScreen.chart_kind,
                    selected=DashboardScreen.selected,
                    slice_param=DashboardScreen.slice_param,
                )
            # its Markdown widget is mounted after the first frame (see _advice)
            yield VerticalScroll(id="pane-advice", classes="pane")
            with Vertical(id="pane-log", classes="pane"):
                yield SafeLogPane(id="log")
            with Vertical(id="pane-gpus", classes="pane"):
                yield SafeGpuPane(id="gpus")
        yield self.feed
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(TrialTable)
        table.setup(self.params)
        self.query_one(ChartPane).set_data(self.data)
        for pane in PANES:
            self.query_one(f"#pane-{pane}").border_title = PANE_TITLES[pane]
        self._restore_view(table)
        self.query_one("#pane-chart").border_title = self._chart_title()
        gpus = self.query_one(GpuPane)
        self.feed.gpus_wanted = lambda: gpus.is_on_screen
        self._update_bar()
        self._update_tabs()
        table.focus()
        after_first_frame(self, self._advice)

    def _advice(self) -> Markdown:
        """The advice pane's Markdown, mounted on first use.

        Importing Textual's Markdown (markdown-it, pygments) costs a tenth of the
        console's start-up; the first frame does not need it.
        """
        from textual.widgets import Markdown

        found = self.query("#advice").results(Markdown)
        for advice in found:
            return advice
        advice = Markdown("*waiting for trials…*", id="advice")
        self.query_one("#pane-advice").mount(advice)
        return advice

    def on_resize(self) -> None:
        width, height = self.size
        self.narrow = width < WIDE_MIN[0] or height < WIDE_MIN[1]
        self._update_bar()

    # -- the header ------------------------------------------------------------------
    def _update_bar(self) -> None:
        counts, best, runner = self.counts, self.best, self.runner
        rows = self.query_one(TrialTable).rows_by_number.values()
        elapsed, eta = elapsed_and_eta(
            self._created_ts, rows, counts, runner.budget, alive=runner.alive
        )
        # whole seconds, as shown: the same header within a second is not redrawn
        elapsed, eta = (float(int(v)) if v is not None else None for v in (elapsed, eta))
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

    def watch_runner(self, old: RunnerView, new: RunnerView) -> None:
        if not self.is_mounted:
            return
        self._update_bar()
        self._refresh_enabled()
        if (
            new.state == "paused"
            and new.reason != old.reason
            and new.reason.startswith("launching")
        ):
            self.notify(new.reason, severity="warning", timeout=15)

    # -- what the feed sends ---------------------------------------------------------
    @guarded("trials")
    def on_session_changed(self, message: SessionChanged) -> None:
        """One frame: what changed, and the clocks of a live sweep (an empty delta: only those).

        The feed posts a clock frame a second while anything runs, so everything
        that moves lands in the same frame and each changed line renders once;
        between them a row frame redraws only a running trial's changed line.
        """
        delta = message.delta
        try:
            if delta.rows_only:
                self._apply_rows(delta)
                return
            if delta.runner is not None:
                self.runner = delta.runner
            if delta.counts is not None:
                self.counts, self.best = delta.counts, delta.best
            table = self.query_one(TrialTable)
            if delta.rows:
                table.apply(delta.rows)
                self.data.rows = table.rows_by_number
                self._refresh_enabled()  # the selected trial may have ended
            for number, points in delta.points.items():
                if points:
                    self.curves.setdefault(number, []).extend(points)
            if delta.points or delta.rows:
                self.query_one(ChartPane).invalidate()
            now = int(time.time())  # lines a row frame drew this second show the clock
            table.tick({n for n, second in self._drawn_at.items() if second == now})
            self._drawn_at.clear()
            if delta or self.runner.alive:  # else nothing the header shows moved
                self._update_bar()
            if delta.initial:
                self.loaded = True
        finally:
            self.feed.delivered()

    def _apply_rows(self, delta: SessionDelta) -> None:
        """A row frame: the changed lines and, when they moved, the header's counts."""
        table = self.query_one(TrialTable)
        table.apply(delta.rows)
        now = int(time.time())
        self._drawn_at.update((row.number, now) for row in delta.rows)
        self.data.rows = table.rows_by_number
        self._refresh_enabled()
        if delta.counts is not None and (delta.counts, delta.best) != (self.counts, self.best):
            self.counts, self.best = delta.counts, delta.best
            self._update_bar()

    @guarded("log")
    def on_log_read(self, message: LogRead) -> None:
        log = self.query_one(LogPane)
        if message.reset:
            log.show_trial(message.number)
            self.query_one("#pane-log").border_title = log.title()
        if message.number == log.trial:
            log.add(message.lines)
            if message.reset and not message.lines and message.number is not None:
                log.show_empty()

    @guarded("chart")
    def on_curve_loaded(self, message: CurveLoaded) -> None:
        if message.number not in self.curves and message.series:
            self.curves[message.number] = message.series
            self._loaded_curves.append(message.number)
            while len(self._loaded_curves) > MAX_LOADED_CURVES:
                self.curves.pop(self._loaded_curves.pop(0), None)
        self.query_one(ChartPane).invalidate()

    @guarded("gpus")
    def on_gpu_polled(self, message: GpuPolled) -> None:
        self.gpus = message.snapshot
        self.query_one(GpuPane).show(message.snapshot)

    @guarded("advice")
    def on_stats_ready(self, message: StatsReady) -> None:
        self._advice().update(message.markdown)
        self.data.analysis = message.analysis
        self.query_one(ChartPane).invalidate()

    @on(TrialTable.TrialHighlighted)
    @guarded("trials")
    def _trial_highlighted(self, message: TrialTable.TrialHighlighted) -> None:
        self.selected = message.number
        self.feed.log_target = message.number
        self._refresh_enabled()

    @on(TrialTable.Filled)
    def _filled(self, message: TrialTable.Filled) -> None:
        self._update_trials_title()

    @on(TrialTable.TrialSelected)
    def _trial_selected(self, event: TrialTable.TrialSelected) -> None:
        event.stop()
        self.action_detail()

    # -- keys -----------------------------------------------------------------------
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

    def _refresh_enabled(self) -> None:
        """Refresh the bindings only when an action turned on or off: every refresh makes the
        footer mount all its keys again, which cost a cursor move most of its time."""
        enabled = tuple(bool(self.check_action(action, ())) for action in DYNAMIC_ACTIONS)
        if enabled != self._enabled:
            self._enabled = enabled
            self.refresh_bindings()

    def _selected_row(self) -> TrialRow | None:
        if self.selected is None:
            return None
        return self.query_one(TrialTable).rows_by_number.get(self.selected)

    def action_kill(self) -> None:
        row = self._selected_row()
        if row is not None:
            self.kill_trial(row.number)

    def action_detail(self) -> None:
        if self.selected is None:
            return
        from kttui.tui.screens.detail import TrialDetailScreen

        self.app.push_screen(TrialDetailScreen(self.session, self.selected))
