"""The spec editor: YAML with live validation, save, and launch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from kttui.service import ServiceError
from kttui.service.sessions import launch
from kttui.service.specs import Issue, read_spec_for_edit, save_spec, validate_spec_text
from kttui.session import Session
from kttui.tui.messages import OpenSession
from kttui.tui.widgets.spec_area import SpecArea

VALIDATE_DELAY_S = 0.3


class EditorScreen(Screen[None]):
    """Edits one spec file; problems are listed with their line and marked in the text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="editor.save"),
        Binding("ctrl+l", "launch", "Launch", id="editor.launch"),
        Binding("f8", "next_problem", "Next problem", id="editor.next_problem"),
        Binding("escape", "back", "Back", id="editor.back", priority=True),
    ]

    @dataclass
    class Validated(Message):
        text: str
        issues: list[Issue]

    @dataclass
    class Launched(Message):
        session: Session | None
        error: str = ""

    def __init__(
        self,
        store: Path,
        path: Path,
        text: str | None = None,
        *,
        cursor_blink: bool = True,
        launch_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.path = path
        self.launch_dir = launch_dir
        self.exists = path.is_file()
        self.initial = text if text is not None else read_spec_for_edit(path)
        self.saved_text = self.initial
        self.cursor_blink = cursor_blink
        self.issues: list[Issue] = []
        self.validated_text: str | None = None
        self._timer: Timer | None = None
        self._back_armed = False
        self._launching = False

    def compose(self) -> ComposeResult:
        yield Static(id="editor-title")
        yield SpecArea(self.initial, cursor_blink=self.cursor_blink, id="spec")
        yield Static(id="editor-status")
        yield OptionList(id="problems")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#problems").display = False
        self._update_title()
        self.validate(self.initial)
        self.query_one(SpecArea).focus()

    @property
    def text(self) -> str:
        return self.query_one(SpecArea).text

    @property
    def modified(self) -> bool:
        return self.text != self.saved_text

    def _update_title(self) -> None:
        mark = " [modified]" if self.modified else ""
        new = "" if self.exists else " (new file)"
        self.query_one("#editor-title", Static).update(
            Text.assemble(("Spec ", "bold"), str(self.path), new, (mark, "yellow"))
        )

    @on(TextArea.Changed, "#spec")
    def _changed(self) -> None:
        self._back_armed = False
        self._update_title()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(VALIDATE_DELAY_S, lambda: self.validate(self.text))

    @work(thread=True, exclusive=True, exit_on_error=False, group="validate")
    def validate(self, text: str) -> None:
        issues = validate_spec_text(text, self.path.name)
        self.post_message(self.Validated(text, issues))

    def on_editor_screen_validated(self, message: Validated) -> None:
        if message.text != self.text:
            return  # an older text; a newer validation is on its way
        self.issues = message.issues
        self.validated_text = message.text
        area = self.query_one(SpecArea)
        area.mark(frozenset(i.line - 1 for i in message.issues if i.line > 0))
        status = self.query_one("#editor-status", Static)
        problems = self.query_one("#problems", OptionList)
        problems.clear_options()
        if not message.issues:
            status.update(Text("✓ valid spec   ctrl+l launches a sweep from it", style="green"))
            problems.display = False
            return
        count = len(message.issues)
        status.update(
            Text(f"✗ {count} problem{'s' if count > 1 else ''}   f8: go to next", style="bold red")
        )
        problems.add_options(
            Option(Text(str(issue)), id=f"{i}") for i, issue in enumerate(message.issues)
        )
        problems.display = True

    @on(OptionList.OptionSelected, "#problems")
    def _problem_selected(self, event: OptionList.OptionSelected) -> None:
        issue = self.issues[int(event.option_id or 0)]
        self._goto(issue)

    def _goto(self, issue: Issue) -> None:
        area = self.query_one(SpecArea)
        if issue.line > 0:  # on the offending key, not the start of its line
            area.move_cursor((issue.line - 1, max(issue.column - 1, 0)), center=True)
        area.focus()

    def action_next_problem(self) -> None:
        if not self.issues:
            return
        row, col = self.query_one(SpecArea).cursor_location
        later = [i for i in self.issues if (i.line, i.column) > (row + 1, col + 1)]
        self._goto(later[0] if later else self.issues[0])

    def action_save(self) -> bool:
        try:
            save_spec(self.path, self.text)
        except ServiceError as exc:
            self.notify(str(exc), severity="error")
            return False
        self.saved_text = self.text
        self.exists = True
        self._update_title()
        self.notify(f"saved {self.path}")
        return True

    def action_launch(self) -> None:
        if self._launching:
            return
        issues = validate_spec_text(self.text, self.path.name)
        if issues:
            self.notify(
                f"cannot launch: {len(issues)} problem(s), first: {issues[0]}", severity="error"
            )
            return
        if (self.modified or not self.exists) and not self.action_save():
            return
        self._launching = True
        self.notify("launching…")
        self.launch(self.text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="launch")
    def launch(self, text: str) -> None:
        try:
            session = launch(self.store, text, self.path, launch_dir=self.launch_dir)
        except ServiceError as exc:
            self.post_message(self.Launched(None, str(exc)))
            return
        self.post_message(self.Launched(session))

    def on_editor_screen_launched(self, message: Launched) -> None:
        self._launching = False
        if message.session is None:
            self.notify(message.error.splitlines()[0], severity="error", timeout=10)
            return
        self.notify(f"launched {message.session.id}")
        self.dismiss(None)
        self.app.post_message(OpenSession(message.session))

    def action_back(self) -> None:
        if self.modified and not self._back_armed:
            self._back_armed = True
            self.notify("unsaved changes: ctrl+s saves, esc again discards them")
            return
        self.dismiss(None)
