"""Trial detail: params, every metric per epoch, status, exit code, stderr tail, paths."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from kttui import reproduce
from kttui.safetext import format_value
from kttui.service import ServiceError
from kttui.service.logs import TrialDetail, trial_detail
from kttui.service.rows import format_duration
from kttui.service.sessions import control
from kttui.session import Session
from kttui.tui.guard import guarded, record
from kttui.tui.messages import CommandDone
from kttui.tui.screens.dialogs import ConfirmScreen
from kttui.tui.widgets.trial_curve import TrialCurve

STATUS_FIELDS = (
    "state",
    "reason",
    "exit_code",
    "signal",
    "value",
    "best",
    "best_epoch",
    "epoch",
    "slot",
    "gpus",
    "pid",
    "started",
    "finished",
    "duration_s",
    "attempt",
    "retry_of",
    "bad_lines",
    "duplicate_epochs",
)


def _kv_table(title: str, items: list[tuple[str, Any]]) -> Table:
    table = Table(
        title=title, title_justify="left", title_style="bold", box=None, show_header=False
    )
    table.add_column("key", style="bold", no_wrap=True, width=18)
    table.add_column("value", overflow="fold")
    for key, value in items:
        table.add_row(key, Text(format_value(value) if not isinstance(value, str) else value))
    return table


class TrialDetailScreen(Screen[None]):
    """Everything about one trial; refreshed every second while it runs."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="detail.back"),
        Binding("k", "kill", "Kill trial", id="detail.kill"),
        Binding("y", "copy_command", "Copy command", id="detail.copy"),
    ]

    class Loaded(Message):
        def __init__(self, detail: TrialDetail) -> None:
            super().__init__()
            self.detail = detail

    def __init__(self, session: Session, number: int, *, poll_s: float = 1.0) -> None:
        super().__init__()
        self.session = session
        self.number = number
        self.poll_s = poll_s
        self.detail: TrialDetail | None = None
        self.command = ""
        objective = session.info().get("objective") or {}
        self.metric = str(objective.get("metric") or "value")
        self._columns: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(f"Trial {self.number} of {self.session.id}", id="detail-title")
        with VerticalScroll(id="detail-body"):
            yield Static(id="detail-info")
            yield Static(id="detail-command")
            yield TrialCurve(id="detail-curve")
            yield DataTable(id="detail-metrics", cursor_type="row", zebra_stripes=True)
            yield Static(id="detail-stderr")
            yield Static(id="detail-paths")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#detail-metrics").border_title = "Metrics per epoch"
        self.query_one("#detail-stderr").border_title = "stderr (last lines)"
        self.query_one("#detail-command").border_title = "Re-run it (y: copy)"
        self.query_one("#detail-curve").border_title = "Learning curve"
        self.command = reproduce.trial_lines(self.session.trial_dir(self.number))
        self.query_one("#detail-command", Static).update(
            Text(self.command or "(not recorded for this trial)")
        )
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail")
    def load(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            detail = trial_detail(self.session, self.number)
            self.post_message(self.Loaded(detail))
            if detail.status.get("state") not in ("running", "queued"):
                return
            worker.cancelled_event.wait(self.poll_s)

    @guarded("detail")
    def on_trial_detail_screen_loaded(self, message: Loaded) -> None:
        detail = self.detail = message.detail
        status = detail.status
        items = [(k, status.get(k)) for k in STATUS_FIELDS if status.get(k) not in (None, "", [])]
        items = [(k, format_duration(v) if k == "duration_s" else v) for k, v in items]
        params = sorted(detail.params.items())
        self.query_one("#detail-info", Static).update(
            Group(_kv_table("Status", items), Text(""), _kv_table("Params", params))
        )
        self._show_metrics(detail.metrics)
        self.query_one(TrialCurve).show(detail.metrics, self.metric)
        tail = detail.stderr_tail or ["(empty)"]
        self.query_one("#detail-stderr", Static).update(Text("\n".join(tail)))
        self.query_one("#detail-paths", Static).update(
            _kv_table("Paths", list(detail.paths.items()))
        )
        self.refresh_bindings()

    def _show_metrics(self, metrics: list[dict[str, Any]]) -> None:
        table = self.query_one("#detail-metrics", DataTable)
        names = sorted({k for rec in metrics for k in rec if k != "epoch"})
        columns = ["epoch", *names]
        if columns != self._columns:
            table.clear(columns=True)
            for name in columns:
                table.add_column(name, key=name)
            self._columns = columns
        for rec in metrics[table.row_count :]:
            table.add_row(
                *(Text(format_value(rec.get(c)), justify="right") for c in columns),
                key=str(rec.get("epoch")),
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "kill":
            return self.detail is not None and self.detail.status.get("state") == "running"
        return True

    def action_back(self) -> None:
        self.dismiss(None)

    def action_copy_command(self) -> None:
        if not self.command:
            self.notify("no command recorded for this trial", severity="warning")
            return
        self.app.copy_to_clipboard(self.command)
        self.notify("command copied (OSC 52: the terminal must allow clipboard access)")

    def pane_failed(self, pane: str, exc: Exception) -> None:
        self.query_one("#detail-info", Static).update(Text(record(self, pane, exc), style="red"))

    def action_kill(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.kill()

        self.app.push_screen(ConfirmScreen(f"Kill trial {self.number}?"), answered)

    @work(thread=True, exit_on_error=False, group="control")
    def kill(self) -> None:
        try:
            control(self.session, "kill", trial=self.number)
        except ServiceError as exc:
            self.post_message(CommandDone("kill", False, str(exc)))
            return
        self.post_message(CommandDone("kill", True, f"trial {self.number} is being killed"))

    def on_command_done(self, message: CommandDone) -> None:
        self.notify(message.text, severity="information" if message.ok else "error")
