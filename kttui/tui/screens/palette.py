"""The command palette, safe against page keys typed before its list is laid out.

Textual's palette pages its command list by line; before the list has been
laid out it has no lines yet, and ``pagedown`` right after ``ctrl+p`` (a
typing user, or the soak test) raised ``KeyError`` inside Textual and ended the
console. Paging now waits until there is something to page through.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.command import CommandList, CommandPalette


class Palette(CommandPalette):
    """Textual's command palette with page keys that are safe at any moment."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pagedown", "page(1)", "Next page", show=False, id="palette.page_down"),
        Binding("pageup", "page(-1)", "Previous page", show=False, id="palette.page_up"),
    ]

    def action_page(self, direction: int) -> None:
        commands = self.query_one(CommandList)
        if not commands.option_count or not commands.scrollable_content_region:
            return  # not laid out yet: there is no page to move by
        if direction > 0:
            commands.action_page_down()
        else:
            commands.action_page_up()
