"""The tab strip of a narrow dashboard: which panes exist, which one is shown.

At 80×24 the dashboard shows one pane at a time; this one line says which and
what the others are. It re-renders only when its text changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import Static

from kttui.tui.guard import SafeRender


def tab_text(panes: Sequence[str], titles: Mapping[str, str], current: str, note: str) -> Text:
    parts: list[tuple[str, str]] = []
    for i, pane in enumerate(panes):
        if i:
            parts.append((" │ ", "dim"))
        parts.append((f" {titles[pane]} ", "reverse bold" if pane == current else ""))
    if note:
        parts.append((f"  {note}", "dim"))
    return Text.assemble(*parts)


class TabStrip(SafeRender, Static):
    """One line of pane names, the current one highlighted."""

    guard_name = "tabs"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[object, ...] = ()

    def show(
        self, panes: Sequence[str], titles: Mapping[str, str], current: str, note: str = ""
    ) -> None:
        key = (tuple(panes), current, note, tuple(titles[p] for p in panes))
        if key != self._shown:
            self._shown = key
            self.update(tab_text(panes, titles, current, note))
