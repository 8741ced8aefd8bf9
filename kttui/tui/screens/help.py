"""The help screen: every key of every screen, from the screens' own bindings."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kttui.tui.widgets.trial_table import FILTER_HELP

HELP_INTRO = (
    "kttui watches and steers sweeps; quitting never stops one. "
    "Every action is also in the command palette (ctrl+p)."
)


def _key_text(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "escape": "esc", "O": "shift+o"}
    return " ".join(names.get(k, k) for k in key.split(","))


def bindings_table(title: str, bindings: list[BindingType]) -> Table:
    table = Table(
        title=title, title_justify="left", title_style="bold underline", box=None, show_header=False
    )
    table.add_column("key", style="bold cyan", width=16, no_wrap=True)
    table.add_column("action")
    for b in bindings:
        if isinstance(b, Binding):
            table.add_row(_key_text(b.key), b.tooltip or b.description or b.action)
    return table


class HelpScreen(ModalScreen[None]):
    """Lists keys; ``sections`` are (title, bindings) pairs given by the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close help", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text(HELP_INTRO, style="italic"))
            for title, bindings in self.sections:
                yield Static(bindings_table(title, bindings), classes="help-section")
            yield Static(Text.assemble(("Filter  ", "bold"), FILTER_HELP), classes="help-section")

    def action_close(self) -> None:
        self.dismiss(None)
