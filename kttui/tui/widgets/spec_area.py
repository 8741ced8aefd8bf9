"""The spec text area: YAML highlighting (when tree-sitter is installed) and marked error lines."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import TextArea

ERROR_STYLE = "on #5f0000"


class SpecArea(TextArea):
    """A code editor for spec YAML whose lines with problems are marked."""

    def __init__(self, text: str, *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(
            text,
            language="yaml",
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            id=id,
        )
        self.cursor_blink = cursor_blink
        self.indent_width = 2
        self.error_lines: frozenset[int] = frozenset()

    def mark(self, lines: frozenset[int]) -> None:
        """Mark these 0-based lines as having problems."""
        if lines != self.error_lines:
            self.error_lines = lines
            self.notify_style_update()
            self.refresh()

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        if line_index in self.error_lines:
            line.stylize(ERROR_STYLE)
            if not line.plain:
                line.append(" ", ERROR_STYLE)
        return line
