"""The trial table: a virtual table that draws only the rows on screen.

Rows arrive as :class:`kttui.service.rows.TrialRow` values; a changed trial
re-renders only its own line (an unchanged one reuses its last), sorting and
filtering reorder a list of trial numbers, and columns are sized from each new
row's text lengths, so ten thousand trials cost what thirty do (Textual's
DataTable re-renders every visible cell on any cell update). The trial number
stays pinned on sideways scroll; at the last row, new trials are followed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kttui.service.rows import TrialRow
from kttui.tui.widgets.trial_columns import FILTER_HELP as FILTER_HELP
from kttui.tui.widgets.trial_columns import (
    FIXED_COLUMNS,
    TAIL_COLUMNS,
    Filter,
    cell,
    column_label,
    column_widths,
    header_cells,
    lay_out,
    measure,
)
from kttui.tui.widgets.trial_order import TrialOrder


class TrialTable(ScrollView, can_focus=True):
    """The trials of one session, one line each, with a fixed header line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Detail", id="trials.detail"),
        Binding("up", "cursor(-1)", "Up", id="trials.up", show=False),
        Binding("down", "cursor(1)", "Down", id="trials.down", show=False),
        Binding("pageup", "page(-1)", "Page up", id="trials.page_up", show=False),
        Binding("pagedown", "page(1)", "Page down", id="trials.page_down", show=False),
        Binding("home,g", "first", "First trial", id="trials.first", show=False),
        Binding("end,G", "follow", "Newest trial", id="trials.follow", show=False),
        Binding("left", "scroll_cells(-8)", "Scroll left", id="trials.left", show=False),
        Binding("right", "scroll_cells(8)", "Scroll right", id="trials.right", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "trial-table--header",
        "trial-table--cursor",
        "trial-table--odd",
    }
    DEFAULT_CSS = """
    TrialTable {
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    TrialTable > .trial-table--header { text-style: bold; background: $panel; }
    TrialTable > .trial-table--odd { background: $surface-lighten-1; }
    TrialTable > .trial-table--cursor { background: $block-cursor-blurred-background; }
    TrialTable:focus > .trial-table--cursor {
        background: $block-cursor-background;
        text-style: bold;
    }
    """

    @dataclass
    class TrialHighlighted(Message):
        """The cursor moved to a trial (``None``: the table is empty)."""

        number: int | None

    @dataclass
    class TrialSelected(Message):
        """Enter was pressed on a trial."""

        number: int

    @dataclass
    class Filled(Message):
        """The rows shown changed (a load, a new filter or new trials)."""

        shown: int
        total: int

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown = TrialOrder()
        self.param_columns: list[str] = []
        #: every param name the rows carry (the filter warns about other names)
        self.param_names: set[str] = set()
        self.filter = Filter()
        self.follow = True
        self.cursor_row = 0
        self._widths: list[int] = []
        self._content: dict[str, int] = {}
        self._cache: dict[tuple[Any, ...], Strip] = {}
        #: per trial, its last line (row, kind, second of a running clock, strip)
        self._lines: dict[int, tuple[TrialRow, str, int, Strip]] = {}
        self._announced: int | None = -1

    @property
    def rows_by_number(self) -> dict[int, TrialRow]:
        return self._shown.rows_by_number

    @property
    def sort_column(self) -> str:
        return self._shown.column

    @property
    def sort_reverse(self) -> bool:
        return self._shown.reverse

    @property
    def _order(self) -> list[int]:
        return self._shown.numbers

    # -- columns ------------------------------------------------------------------
    @property
    def column_ids(self) -> list[str]:
        return (
            [c for c, _, _ in FIXED_COLUMNS]
            + [f"p:{p}" for p in self.param_columns]
            + [c for c, _, _ in TAIL_COLUMNS]
        )

    def column_label(self, column: str) -> str:
        return column_label(column)

    def setup(self, params: Iterable[str]) -> None:
        """The columns: fixed ones, one per param, then time and slot."""
        self.param_columns = list(params)
        self._content = {}
        measure(self.rows_by_number.values(), self.param_columns, self._content)
        self._size_columns()

    def _size_columns(self) -> None:
        widths = column_widths(self.column_ids, self.column_label, self._content)
        if widths != self._widths:
            self._widths = widths
            self._forget_lines()
            self._resize()

    def _ensure_params(self, rows: Iterable[TrialRow]) -> None:
        names = (name for row in rows for name, _ in row.params)
        missing = list(dict.fromkeys(n for n in names if n not in self.param_columns))
        if missing:
            self.setup(missing)

    @property
    def total_width(self) -> int:
        return sum(w + 1 for w in self._widths) + 1

    def _resize(self) -> None:
        self.virtual_size = Size(self.total_width, len(self._order) + 1)
        self.refresh()

    # -- rows -----------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._order)

    def get_row_index(self, key: str) -> int:
        return self._shown.position[int(key)]

    def apply(self, rows: Sequence[TrialRow]) -> None:
        """Show new and changed trials; only their lines are redrawn."""
        for row in rows:
            self.param_names.update(name for name, _ in row.params)
        if not self.param_columns:
            self._ensure_params(rows)
        if measure(rows, self.param_columns, self._content):
            self._size_columns()
        at_end = not self._order or self.cursor_row >= len(self._order) - 1
        added, resort = self._shown.merge(rows)
        if resort:
            self._reorder()
        elif added:
            self._shown.reindex()
        if added or resort:
            self._resize()
            if self.follow and at_end:
                self._go_newest()
            self.post_message(self.Filled(len(self._order), len(self.rows_by_number)))
            self.refresh()
        else:  # the same lines in the same places: redraw only the changed ones
            changed = {row.number for row in rows}
            self._refresh_shown(lambda n: n in changed)
        self._announce()

    def tick(self, fresh: Container[int] = ()) -> None:
        """Redraw the elapsed time of running trials (their cells change with the clock), but
        for the ``fresh`` ones, whose lines were drawn this second and show it already."""
        self._refresh_shown(lambda n: n not in fresh and self.rows_by_number[n].state == "running")

    def _refresh_shown(self, which: Callable[[int], bool]) -> None:
        """Refresh the lines on screen whose trial ``which`` picks (nothing else is redrawn)."""
        top = int(self.scroll_offset.y)
        for index in range(top, min(top + self.size.height, len(self._order))):
            if which(self._order[index]):
                self.refresh_line(index + 1)  # line 0 is the header

    def _reorder(self) -> None:
        """Sort again, keeping the cursor on its trial unless following the newest."""
        selected = self.selected_number
        self._shown.sort()
        if selected is not None and selected in self._shown.position and not self.follow:
            self.cursor_row = self._shown.position[selected]
        self._clamp()

    def _refill(self) -> None:
        """Rebuild the order (a new filter): matching rows, sorted."""
        self._shown.refill(self.filter.matcher(self.column_ids))
        self._reorder()
        self._resize()
        self.post_message(self.Filled(len(self._order), len(self.rows_by_number)))
        self._announce()

    def _clamp(self) -> None:
        self.cursor_row = max(0, min(self.cursor_row, len(self._order) - 1))

    def _go_newest(self) -> None:
        if self._order and self.sort_column == "number":
            self.move_cursor(row=0 if self.sort_reverse else len(self._order) - 1)

    # -- cursor ---------------------------------------------------------------------
    @property
    def selected_number(self) -> int | None:
        if not self._order:
            return None
        return self._order[max(0, min(self.cursor_row, len(self._order) - 1))]

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        self.cursor_row = row
        self._clamp()
        self._scroll_to_cursor()
        self.call_after_refresh(self._scroll_to_cursor)  # after a layout of new rows
        self.refresh()
        self._announce()

    def _scroll_to_cursor(self, retries: int = 5) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        target = None
        if self.cursor_row < top:
            target = self.cursor_row
        elif self.cursor_row >= top + body:
            target = self.cursor_row - body + 1
        if target is None:
            return
        self.scroll_to(y=target, animate=False)
        if int(self.scroll_offset.y) != target and retries:
            # the new rows are not laid out yet: the scroll was clamped
            self.set_timer(0.02, lambda: self._scroll_to_cursor(retries - 1))

    @property
    def cursor_visible(self) -> bool:
        top = int(self.scroll_offset.y)
        return top <= self.cursor_row < top + max(1, self.scrollable_content_region.height - 1)

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def _announce(self) -> None:
        number = self.selected_number
        if number != self._announced:
            self._announced = number
            self.post_message(self.TrialHighlighted(number))

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)
        self.follow = self.cursor_row >= len(self._order) - 1

    def action_page(self, step: int) -> None:
        self.action_cursor(step * max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.follow = False
        self.move_cursor(row=0)

    def action_follow(self) -> None:
        self.follow = True
        if self.sort_column == "number" and not self.sort_reverse:
            self.move_cursor(row=len(self._order) - 1)
        else:
            self.move_cursor(row=0)

    def action_scroll_cells(self, step: int) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x + step), animate=False)

    def action_select(self) -> None:
        number = self.selected_number
        if number is not None:
            self.post_message(self.TrialSelected(number))

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.follow = False
            self.move_cursor(row=int(self.scroll_offset.y) + event.y - 1)

    # -- user actions ---------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        self.filter = Filter(text)
        self._refill()

    def set_sort(self, column: str, reverse: bool) -> None:
        self._shown.column, self._shown.reverse = column, reverse
        self._forget_lines()
        self._reorder()
        if self.follow and column == "number":
            self._go_newest()
        elif self.follow:
            self.move_cursor(row=0)
        else:
            self.move_cursor(row=self.cursor_row)

    def cycle_sort(self, step: int = 1) -> str:
        ids = self.column_ids
        index = ids.index(self.sort_column) if self.sort_column in ids else 0
        self.set_sort(ids[(index + step) % len(ids)], self.sort_reverse)
        return self.sort_column

    # -- drawing --------------------------------------------------------------------
    def _line(self, cells: Sequence[Text], style: Style) -> Strip:
        line = lay_out(cells, self._widths)
        segments = list(line.render(self.app.console))
        return Strip(segments, line.cell_len).apply_style(style)

    def _header(self) -> Strip:
        cells = header_cells(self.column_ids, self._widths, self.sort_column, self.sort_reverse)
        key = ("header", tuple(c.plain for c in cells))
        strip = self._cache.get(key)
        if strip is None:
            style = self.get_component_rich_style("trial-table--header")
            strip = self._cache[key] = self._line(cells, style)
        return strip

    def _forget_lines(self) -> None:
        self._cache.clear()
        self._lines.clear()

    def _row(self, index: int, now: float) -> Strip:
        number = self._order[index]
        row = self.rows_by_number[number]
        if index == self.cursor_row:
            kind = "cursor-focus" if self.has_focus else "cursor"
        else:
            kind = "odd" if index % 2 else "even"
        tick = int(now) if row.duration_s is None and row.state == "running" else 0
        last = self._lines.get(number)
        if last is None or last[0] is not row or last[1:3] != (kind, tick):
            if len(self._lines) > 4000:
                self._lines.clear()
            last = self._lines[number] = (row, kind, tick, self._build_row(row, kind, now))
        return last[3]

    def _build_row(self, row: TrialRow, kind: str, now: float) -> Strip:
        cells = [cell(row, c, now) for c in self.column_ids]
        key = (kind, tuple((c.plain, c.style) for c in cells))
        strip = self._cache.get(key)
        if strip is None:
            component = {"odd": "trial-table--odd", "even": ""}.get(kind, "trial-table--cursor")
            style = self.get_component_rich_style(component) if component else self.rich_style
            if len(self._cache) > 4000:
                self._cache.clear()
            strip = self._cache[key] = self._line(cells, style)
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            strip = self._header()
        else:
            index = int(scroll_y) + y - 1
            if index >= len(self._order):
                return Strip.blank(width, self.rich_style)
            strip = self._row(index, time.time())
        x = int(scroll_x)
        pinned = self._widths[0] + 1 if self._widths else 0
        if x <= 0 or pinned >= width:
            return strip.crop_extend(x, x + width, self.rich_style)
        # the trial number stays in view when the table scrolls sideways
        left = strip.crop(0, pinned)
        right = strip.crop_extend(pinned + x, x + width, self.rich_style)
        return Strip.join([left, right])

    def on_focus(self) -> None:
        self.refresh()

    on_blur = on_focus
