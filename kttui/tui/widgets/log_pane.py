"""The log pane: a live tail of one trial's stdout and stderr (already sanitised).

Long lines scroll sideways (left/right) or wrap (``w`` toggles); the lines are
kept so a toggle re-lays them out without reading the file again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import RichLog

from kttui.service.logs import LogLine

MAX_LINES = 2000


def log_title(number: int | None, wrap: bool) -> str:
    """The pane's title: short enough never to be clipped by a 60-column border."""
    if number is None:
        return "Log"
    return f"Log #{number} · err│=stderr · w: {'unwrap' if wrap else 'wrap'}"


class LogPane(RichLog):
    """Lines of a trial's output; stderr lines are marked and coloured."""

    DEFAULT_CSS = """
    LogPane { background: $surface; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id, classes=classes, max_lines=MAX_LINES, wrap=False, markup=False, highlight=False
        )
        self.trial: int | None = None
        self._lines: deque[Text] = deque(maxlen=MAX_LINES)
        self._placeholder = False  # a dim note stands in for output not written yet

    def title(self) -> str:
        return log_title(self.trial, self.wrap)

    def show_trial(self, number: int | None) -> None:
        self.trial = number
        self.clear()
        self._lines.clear()
        self._placeholder = False
        if number is None:
            self._note("no trial selected")

    def show_empty(self) -> None:
        """Say the trial has written nothing yet; its first line replaces the note."""
        if not self._lines:
            self.clear()
            self._note("(no output yet)")

    def _note(self, text: str) -> None:
        self.write(Text(text, style="dim"))
        self._placeholder = True

    def add(self, lines: Iterable[LogLine]) -> None:
        texts = []
        for line in lines:
            if self._placeholder:
                self.clear()
                self._placeholder = False
            if line.stream == "err":
                texts.append(Text.assemble(("err│ ", "red"), (line.text, "")))
            else:
                texts.append(Text(line.text))
        self._lines.extend(texts)
        if texts:  # one write: a trial's backlog of a hundred lines is laid out once
            self.write(Text("\n").join(texts))

    def toggle_wrap(self) -> None:
        """Wrap long lines, or stop wrapping them (sideways scroll); the tail stays in view."""
        self.wrap = not self.wrap
        self.clear()
        self._placeholder = False
        for text in self._lines:
            self.write(text)
        if not self._lines:
            self._note("no trial selected" if self.trial is None else "(no output yet)")
