"""The trial table's order model, without Textual: what it re-sorts, and when it does not."""

from __future__ import annotations

from kttui.service.rows import TrialRow
from kttui.tui.widgets.trial_order import TrialOrder


def test_newer_trials_append_without_a_sort_and_older_ones_force_one() -> None:
    order = TrialOrder()
    assert order.merge([TrialRow(1, "running"), TrialRow(2, "running")]) == (True, False)
    assert order.merge([TrialRow(0, "done")]) == (True, True)  # older than the last one
    order.sort()
    assert order.numbers == [0, 1, 2] and order.position == {0: 0, 1: 1, 2: 2}
    assert order.merge([TrialRow(2, "done")]) == (False, False)  # a changed row: no sort


def test_a_changed_sort_value_resorts_and_a_filtered_row_leaves() -> None:
    order = TrialOrder()
    order.column, order.reverse = "best", True
    order.merge([TrialRow(n, "done", value=v) for n, v in [(0, 0.5), (1, 0.9), (2, 0.7)]])
    order.sort()
    assert order.numbers == [1, 2, 0]
    assert order.merge([TrialRow(0, "done", value=0.95)]) == (False, True)
    order.sort()
    assert order.numbers == [0, 1, 2]
    order.refill(lambda row: (row.value or 0) > 0.8)
    order.sort()
    assert order.numbers == [0, 1] and len(order) == 2
    assert order.merge([TrialRow(1, "done", value=0.1)]) == (False, True)  # no longer matches
    order.sort()
    assert order.numbers == [0] and 1 in order.rows_by_number
