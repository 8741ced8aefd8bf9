"""Which trials the trial table shows, in what order: rows by number, the filter, the sort.

No Textual here: the table widget keeps the cursor, scrolling and drawing, and
asks this model what changed so it redraws and re-sorts only when it must.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from kttui.safetext import sort_key
from kttui.service.rows import TrialRow
from kttui.tui.widgets.trial_columns import column_value


class TrialOrder:
    """The shown trials' numbers, in display order, and each one's position."""

    def __init__(self) -> None:
        self.rows_by_number: dict[int, TrialRow] = {}
        self.numbers: list[int] = []
        self.position: dict[int, int] = {}
        self.column = "number"
        self.reverse = False
        self.matcher: Callable[[TrialRow], bool] = lambda row: True

    def __len__(self) -> int:
        return len(self.numbers)

    def merge(self, rows: Iterable[TrialRow]) -> tuple[bool, bool]:
        """Take new and changed rows; say whether rows were added and whether to re-sort.

        Appended rows keep the order valid when the sort is by number and they are
        newer than the last one, so most updates cost no sort.
        """
        resort = False
        added = False
        for row in rows:
            old = self.rows_by_number.get(row.number)
            self.rows_by_number[row.number] = row
            shown = row.number in self.position
            if not self.matcher(row):
                if shown:
                    self.numbers.remove(row.number)
                    resort = True
                continue
            if not shown:
                self.numbers.append(row.number)
                self.position[row.number] = len(self.numbers) - 1
                added = True
                if len(self.numbers) > 1:
                    custom = self.column != "number" or self.reverse
                    resort = resort or custom or row.number < self.numbers[-2]
            elif (
                old is not None
                and self.column != "number"
                and column_value(old, self.column) != column_value(row, self.column)
            ):
                resort = True
        return added, resort

    def reindex(self) -> None:
        self.position = {n: i for i, n in enumerate(self.numbers)}

    def sort(self) -> None:
        column, now, rows = self.column, time.time(), self.rows_by_number
        self.numbers.sort(
            key=lambda n: (sort_key(column_value(rows[n], column, now)), n),
            reverse=self.reverse,
        )
        self.reindex()

    def refill(self, matcher: Callable[[TrialRow], bool]) -> None:
        """A new filter: the matching rows, in no order yet (:meth:`sort` next)."""
        self.matcher = matcher
        self.numbers = [n for n, r in self.rows_by_number.items() if matcher(r)]
