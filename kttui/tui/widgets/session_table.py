"""The sessions table of the home screen, updated cell by cell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey

from kttui.safetext import format_value, one_line
from kttui.service.store import SessionRow
from kttui.tui.widgets.header import middle_ellipsis

STATE_STYLES = {
    "running": "bold cyan",
    "starting": "cyan",
    "paused": "bold yellow",
    "stopping": "yellow",
    "stopped": "magenta",
    "crashed": "bold red",
    "finished": "green",
    "imported": "blue",
    "created": "dim",
}
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("id", "session", None),
    ("state", "state", 8),
    ("done", "done", 7),
    ("running", "run", 3),
    ("failed", "fail", 4),
    ("pruned", "prune", 5),
    ("best", "best", 6),
    ("created", "started", 11),
)


#: Cells the other columns take (widths plus DataTable's padding of 2 per column).
OTHER_COLUMNS = sum((w or 0) + 2 for _, _, w in COLUMNS) + 2
MIN_ID = 12


def short_ids(ids: Sequence[str], width: int) -> dict[str, str]:
    """Each id in about ``width`` cells (middle ellipsis), never two alike.

    Session ids end in their creation stamp, so the ellipsis goes in the
    middle; when two ids still read the same, the labels grow until they differ.
    """
    longest = max((len(i) for i in ids), default=0)
    width = max(1, width)
    while True:
        labels = {i: middle_ellipsis(i, width) for i in ids}
        if len(set(labels.values())) == len(labels) or width >= longest:
            return labels
        width += 1


def _cell(row: SessionRow, column: str, label: str | None = None) -> Text:
    if column == "state":
        return Text(row.state, style=STATE_STYLES.get(row.state, ""))
    if column == "id":
        return Text(one_line(label or row.id), no_wrap=True)
    if column == "created":
        return Text(row.created[5:], no_wrap=True)  # MM-DD HH:MM
    if column == "done":
        return Text(f"{row.done}/{row.trials}", justify="right")
    if column == "best":
        best = "-" if row.best is None else format_value(row.best)
        return Text(best, justify="right")
    return Text(str(getattr(row, column)), justify="right")


class SessionTable(DataTable[Text]):
    """Every session in the store."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="sessions.open"),
    ]

    @dataclass
    class SessionHighlighted(Message):
        row: SessionRow | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", cursor_foreground_priority="renderable")
        self.rows_by_id: dict[str, SessionRow] = {}
        self.labels: dict[str, str] = {}

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width or self._room())

    def _room(self) -> int:
        return max(MIN_ID, (self.app.size.width if self.is_attached else 80) - OTHER_COLUMNS)

    def _fit_id_column(self, labels: dict[str, str]) -> bool:
        """Size the id column to its labels now; True when its width changed.

        The id column has an explicit width rather than an automatic one: an
        automatic width is measured on the next idle, and a row drawn before
        that stays drawn at the old width (the id showed cut to ``demo-20``).
        """
        column = self.columns.get(ColumnKey("id"))
        if column is None:
            return False
        width = max([MIN_ID, *(len(label) for label in labels.values())])
        if column.width == width:
            return False
        column.width = width
        return True

    def apply(self, rows: Sequence[SessionRow]) -> None:
        """Show these sessions: changed cells updated, new ones appended, gone ones removed."""
        seen = set()
        labels = short_ids([r.id for r in rows], self._room())
        resized = self._fit_id_column(labels)
        for row in rows:
            seen.add(row.id)
            old = self.rows_by_id.get(row.id)
            self.rows_by_id[row.id] = row
            label = labels[row.id]
            if old is None:
                self.add_row(*(_cell(row, c, label) for c, _, _ in COLUMNS), key=row.id)
                continue
            old_label = self.labels.get(row.id)
            for column, _, _ in COLUMNS:
                new = _cell(row, column, label)
                # A resized column redraws its cells: update_cell invalidates the drawn rows.
                if _cell(old, column, old_label) != new or (resized and column == "id"):
                    self.update_cell(row.id, column, new)
        self.labels = labels
        for gone in set(self.rows_by_id) - seen:
            del self.rows_by_id[gone]
            self.remove_row(gone)
        self._announce()

    @property
    def selected(self) -> SessionRow | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return self.rows_by_id.get(str(key.value))

    def _announce(self) -> None:
        self.post_message(self.SessionHighlighted(self.selected))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._announce()
