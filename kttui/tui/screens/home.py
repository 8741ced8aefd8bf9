"""The sessions screen: every session of the store, live."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from kttui.service import ServiceError
from kttui.service.sessions import delete_session
from kttui.service.specs import session_spec_source
from kttui.service.store import SessionRow, StoreWatcher
from kttui.session import Session
from kttui.tui.messages import CommandDone, EditSpec, NewSweep, OpenSession, SessionsPolled
from kttui.tui.screens.dialogs import ConfirmScreen
from kttui.tui.widgets.session_table import SessionTable


class HomeScreen(Screen[None]):
    """Lists sessions; polls the store only while it is the visible screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="home.open"),
        Binding("n", "new_sweep", "New sweep", id="home.new"),
        Binding("e", "edit_spec", "Edit spec", id="home.edit"),
        Binding("d", "delete", "Delete", id="home.delete"),
    ]

    def __init__(self, store: Path, *, poll_s: float = 1.0) -> None:
        super().__init__()
        self.store = store
        self.poll_s = poll_s
        self.polled = False

    def compose(self) -> ComposeResult:
        yield Static(f"Sessions in {self.store}", id="home-title")
        yield SessionTable(id="sessions")
        yield Static(id="home-empty")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#home-empty").display = False

    def on_screen_resume(self) -> None:
        self.poll_store()
        self.query_one(SessionTable).focus()

    def on_screen_suspend(self) -> None:
        self.workers.cancel_group(self, "store")

    @work(thread=True, exclusive=True, exit_on_error=False, group="store")
    def poll_store(self) -> None:
        worker = get_current_worker()
        watcher = StoreWatcher(self.store)
        while not worker.is_cancelled:
            self.post_message(SessionsPolled(watcher.poll()))
            worker.cancelled_event.wait(self.poll_s)

    def on_sessions_polled(self, message: SessionsPolled) -> None:
        self.query_one(SessionTable).apply(message.rows)
        empty = self.query_one("#home-empty", Static)
        empty.display = not message.rows
        if not message.rows:
            empty.update(
                f"No sessions in {self.store} yet.\n\n"
                "Press n to write a spec and launch a sweep, or run `kttui run SPEC`."
            )
        self.polled = True
        self.refresh_bindings()

    @property
    def selected(self) -> SessionRow | None:
        return self.query_one(SessionTable).selected

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "edit_spec"):
            return self.selected is not None
        if action == "delete":
            row = self.selected
            return row is not None and not row.alive
        return True

    @on(SessionTable.SessionHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#sessions")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.selected
        if row is not None:
            self.post_message(OpenSession(Session(Path(row.path))))

    def action_new_sweep(self) -> None:
        self.post_message(NewSweep())

    def action_edit_spec(self) -> None:
        row = self.selected
        if row is None:
            return
        session = Session(Path(row.path))
        source, text = session_spec_source(session)
        if source is not None:
            self.post_message(EditSpec(source))
        else:
            self.post_message(EditSpec(Path.cwd() / f"{row.name}.yaml", text))

    def action_delete(self) -> None:
        row = self.selected
        if row is None:
            return
        if row.alive:
            self.notify(f"{row.id} is {row.state}: stop it before deleting", severity="error")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete(row)

        self.app.push_screen(ConfirmScreen(f"Delete session {row.id} and all its files?"), answered)

    @work(thread=True, exit_on_error=False, group="delete")
    def delete(self, row: SessionRow) -> None:
        try:
            delete_session(Session(Path(row.path)))
        except ServiceError as exc:
            self.post_message(CommandDone("delete", False, str(exc)))
            return
        self.post_message(CommandDone("delete", True, f"deleted {row.id}"))

    def on_command_done(self, message: CommandDone) -> None:
        self.notify(message.text, severity="information" if message.ok else "error")
