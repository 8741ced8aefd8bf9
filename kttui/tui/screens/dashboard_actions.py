"""What the dashboard's keys ask of the runner and the service.

Commands go to the runner over its socket in a worker thread; the answer comes
back as :class:`CommandDone` and is shown as a toast. Anything that ends or
kills work asks first.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from textual import work
from textual.screen import Screen

from kttui.service import ServiceError
from kttui.service.rows import RunnerView
from kttui.service.sessions import control, resume
from kttui.service.specs import session_spec_source
from kttui.service.stats import export_report
from kttui.session import Session
from kttui.tui.guard import one_line, record
from kttui.tui.messages import CommandDone, EditSpec, NewSweep
from kttui.tui.screens.dialogs import ConfirmScreen

#: Runner states in which a spec edit cannot reach the sweep.
LIVE_STATES = ("running", "paused", "stopping", "starting")


def copy_path(source: Path | None, name: str) -> Path:
    """A file name for a spec saved as a new sweep, next to the original."""
    folder = source.parent if source is not None else Path.cwd()
    stem = source.stem if source is not None else name
    for i in range(2, 1000):
        candidate = folder / f"{stem}-{i}.yaml"
        if not candidate.exists():
            return candidate
    return folder / f"{stem}-new.yaml"


class DashboardCommands(Screen[None]):
    """The dashboard's runner and spec actions (the screen lays out and routes)."""

    session: Session
    runner: RunnerView

    def pane_failed(self, pane: str, exc: Exception) -> None:
        """A handler updating ``pane`` raised: one line in that pane, traceback in the log."""
        record(self, pane, exc)
        with contextlib.suppress(Exception):  # the pane itself is gone: the log has it
            self.query_one(f"#pane-{pane}").border_subtitle = one_line(pane, exc)

    def _ask(self, question: str, then: Any) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, exit_on_error=False, group="control")
    def run_command(self, action: str, command: str, **args: Any) -> None:
        try:
            if command == "resume-runner":
                text = resume(self.session)
            elif command == "export":
                text = f"report written to {export_report(self.session)}"
            else:
                reply = control(self.session, command, **args)
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
        self._ask(
            "Stop the sweep? (running trials finish, no new ones start)",
            lambda: self.run_command("stop", "stop"),
        )

    def kill_trial(self, number: int) -> None:
        self._ask(
            f"Kill trial {number} (its whole process tree)?",
            lambda: self.run_command("kill", "kill", trial=number),
        )

    def action_export(self) -> None:
        self.run_command("export", "export")

    def action_edit_spec(self) -> None:
        source, text = session_spec_source(self.session)
        name = str(self.session.info().get("name") or "spec")
        if self.runner.state not in LIVE_STATES:
            self.post_message(
                EditSpec(source or Path.cwd() / f"{name}.yaml", None if source else text)
            )
            return
        target = copy_path(source, name)
        self._ask(
            f"The sweep is {self.runner.state}: edits do not change it. "
            f"Open its spec as a new file ({target.name}) to save and launch as a new sweep?",
            lambda: self.post_message(EditSpec(target, text)),
        )

    def action_new_sweep(self) -> None:
        self.post_message(NewSweep())
