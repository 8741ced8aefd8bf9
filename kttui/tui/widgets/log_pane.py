"""The log pane: a live tail of one trial's stdout and stderr (already sanitised)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import RichLog

from kttui.service import LogLine


class LogPane(RichLog):
    """Lines of a trial's output; stderr lines are marked and coloured."""

    DEFAULT_CSS = """
    LogPane { background: $surface; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id, classes=classes, max_lines=2000, wrap=False, markup=False, highlight=False
        )
        self.trial: int | None = None

    def show_trial(self, number: int | None) -> None:
        self.trial = number
        self.clear()
        if number is None:
            self.write(Text("no trial selected", style="dim"))

    def add(self, lines: Iterable[LogLine]) -> None:
        for line in lines:
            if line.stream == "err":
                self.write(Text.assemble(("err│ ", "red"), (line.text, "")))
            else:
                self.write(Text(line.text))
