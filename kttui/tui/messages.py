"""Messages shared by the console's screens: worker results and navigation requests.

Worker results are posted by background threads to the screen that started
them; snapshot-like ones say so with ``can_replace`` so a burst collapses into
the newest. Navigation requests bubble up to the app, which owns the screen
stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message

from kttui.service.gpus import GpuSnapshot
from kttui.service.logs import LogLine
from kttui.service.store import SessionRow
from kttui.service.watch import SessionDelta
from kttui.session import Session


# -- worker results -----------------------------------------------------------------
@dataclass
class SessionsPolled(Message):
    """The sessions of the store, summarised (the newest poll wins)."""

    rows: list[SessionRow]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SessionsPolled)


@dataclass
class SessionChanged(Message):
    """What changed in the watched session since the previous message."""

    delta: SessionDelta


@dataclass
class LogRead(Message):
    """New output lines of a trial (``reset``: the log pane switched trial)."""

    number: int | None
    lines: list[LogLine]
    reset: bool = False


@dataclass
class CurveLoaded(Message):
    """The learning curve of a trial that is not running (read on selection)."""

    number: int
    series: list[tuple[int, float]]


@dataclass
class GpuPolled(Message):
    snapshot: GpuSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GpuPolled)


@dataclass
class StatsReady(Message):
    """Recommendations text and the analysis behind them, recomputed when trials completed."""

    markdown: str
    analysis: Any = None  # the report's Analysis behind it (importance, pair view)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatsReady)


@dataclass
class CommandDone(Message):
    """A command to the runner (or the service) finished."""

    action: str
    ok: bool
    text: str


# -- navigation ---------------------------------------------------------------------
@dataclass
class OpenSession(Message):
    """Open the dashboard of a session."""

    session: Session


@dataclass
class EditSpec(Message):
    """Open the spec editor on ``path`` (``text``: start from this instead of the file)."""

    path: Path
    text: str | None = None


@dataclass
class NewSweep(Message):
    """Ask for a spec file path, then open the editor on it."""

    suggested: str = "spec.yaml"
