"""Which trials the trial table shows, in what order: rows by number, the filter, the sort.

No Textual here: the table widget keeps the cursor, scrolling and drawing, and
asks this model what changed so it redraws and re-sorts only when it must.
Each row's sort key (per column) is kept until the row changes, and each row
carries its searchable text (built in the reader thread), so sorting or
filtering ten thousand trials again is a list sort or a scan of ready strings,
not ten thousand formatting calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from kttui.safetext import sort_key
from kttui.service.rows import TrialRow
from kttui.tui.widgets.trial_columns import column_value

#: (kind, number, text) of the value (safetext.sort_key), then the trial number
SortKey = tuple[int, float, str, int]


class TrialOrder:
    """The shown trials' numbers, in display order, and each one's position."""

    def __init__(self) -> None:
        self.rows_by_number: dict[int, TrialRow] = {}
        self.numbers: list[int] = []
        self.position: dict[int, int] = {}
        self.column = "number"
        self.reverse = False
        self.matcher: Callable[[TrialRow], bool] = lambda row: True
        #: per column, each row's sort key (dropped when the row changes)
        self._keys: dict[str, dict[int, SortKey]] = {}

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
            if old is not None and old != row:
                for keys in self._keys.values():
                    keys.pop(row.number, None)
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
        self.position = dict(zip(self.numbers, range(len(self.numbers)), strict=True))

    def sort(self) -> None:
        column, now, rows = self.column, time.time(), self.rows_by_number
        keys = self._keys.setdefault(column, {})
        by_value: dict[tuple[type, Any], tuple[int, float, str]] = {}  # states, slots: a few
        # a running trial's elapsed time moves with the clock: its key is never kept
        passing: list[int] = []
        for n in [n for n in self.numbers if n not in keys]:
            row = rows[n]
            value = column_value(row, column, now)
            try:
                of_value = by_value.get((type(value), value))
                if of_value is None:
                    of_value = by_value[(type(value), value)] = sort_key(value)
            except TypeError:  # unhashable
                of_value = sort_key(value)
            keys[n] = (*of_value, n)  # flat: tuples of tuples compare slower
            if column == "time" and row.duration_s is None:
                passing.append(n)
        self.numbers.sort(key=keys.__getitem__, reverse=self.reverse)
        for n in passing:
            del keys[n]
        self.reindex()

    def refill(self, matcher: Callable[[TrialRow], bool]) -> None:
        """A new filter: the matching rows, in no order yet (:meth:`sort` next)."""
        self.matcher = matcher
        self.numbers = [n for n, r in self.rows_by_number.items() if matcher(r)]
