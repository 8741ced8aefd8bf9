"""The chart data functions on the data that broke charts: nothing, one point, NaN, inf."""

from __future__ import annotations

import math

import pytest

from kttui.analysis.importance import analyze_importance
from kttui.analysis.pairgrid import pair_grid
from kttui.analysis.table import ParamInfo, TrialFrame
from kttui.chartdata import (
    best_so_far,
    chart_importance,
    clean_series,
    completed_points,
    curve_numbers,
    int_ticks,
    slice_points,
    top_trials,
)
from kttui.service.rows import TrialRow

NAN, INF = math.nan, math.inf


def row(n: int, value: float | None, state: str = "complete", **params: object) -> TrialRow:
    return TrialRow(n, state, tuple(sorted(params.items())), value=value)


def test_series_drop_nan_inf_and_non_numbers() -> None:
    xs, ys = clean_series([(1, 0.5), (2, NAN), (3, INF), (NAN, 0.1), ("x", 1.0), (4, -INF)])
    assert (xs, ys) == ([1.0], [0.5])
    assert clean_series([]) == ([], [])


@pytest.mark.parametrize(
    ("lo", "hi", "want"),
    [
        (1, 1, [1]),
        (0, 4, [0, 1, 2, 3, 4]),
        (1, 100, [20, 40, 60, 80, 100]),
        (0.2, 2.7, [0, 1, 2, 3]),
    ],
)
def test_int_ticks_are_integers_covering_the_range(lo: float, hi: float, want: list[int]) -> None:
    ticks = int_ticks(lo, hi)
    assert all(isinstance(t, int) for t in ticks) and len(ticks) <= 6
    assert ticks == want


def test_int_ticks_on_bad_input() -> None:
    assert int_ticks(NAN, 3) == [] and int_ticks(0, INF) == []
    big = int_ticks(0, 9_999)
    assert len(big) <= 6 and big[-1] <= 9_999 and all(isinstance(t, int) for t in big)


@pytest.mark.parametrize(
    "rows",
    [[], [row(0, None)], [row(0, NAN)], [row(0, INF)], [row(0, 1.0, "fail")]],
)
def test_empty_and_invalid_rows_give_empty_series(rows: list[TrialRow]) -> None:
    assert best_so_far(rows, True) == []
    assert completed_points(rows) == []
    assert slice_points(rows, "a") == ([], [], None)
    assert top_trials(rows, 5, True) == []


def test_one_point_and_mixed_data() -> None:
    rows = [row(0, 0.5, a=1.0), row(1, NAN, a=2.0), row(2, 0.7, a=3.0), row(3, 0.6, "pruned")]
    assert best_so_far(rows[:1], True) == [(0, 0.5)]
    assert best_so_far(rows, True) == [(0, 0.5), (2, 0.7)]
    assert best_so_far(rows, False) == [(0, 0.5), (2, 0.5)]
    assert completed_points(rows) == [(0, 0.5), (2, 0.7)]
    assert slice_points(rows, "a") == ([1.0, 3.0], [0.5, 0.7], None)


def test_slice_on_a_log_param_leaves_out_non_positive_x() -> None:
    rows = [row(0, 0.5, lr=0.0), row(1, 0.6, lr=1e-3), row(2, 0.7, lr=-1.0)]
    assert slice_points(rows, "lr", log=True)[0] == [1e-3]
    assert len(slice_points(rows, "lr")[0]) == 3


def test_slice_of_a_categorical_param_has_labels() -> None:
    rows = [row(0, 0.5, opt="sgd"), row(1, 0.6, opt="adam"), row(2, 0.4, opt=True)]
    xs, _ys, labels = slice_points(rows, "opt")
    assert labels == ["True", "adam", "sgd"] and sorted(xs) == [0.0, 1.0, 2.0]


def test_top_k_and_the_selected_trial() -> None:
    rows = {
        0: row(0, 0.5),
        1: row(1, 0.9),
        2: TrialRow(2, "running", best=0.8),
        3: row(3, 0.1, "fail"),
        4: row(4, 0.7),
    }
    assert top_trials(rows.values(), 2, True) == [1, 2]
    assert top_trials(rows.values(), 2, False) == [0, 4]
    curves = {0: [(1, 0.5)], 1: [(1, 0.9)], 2: [], 4: [(1, 0.6), (2, 0.7)]}
    # trial 2 has no epoch yet: left out rather than drawn as an empty series
    assert curve_numbers(rows, curves, 0, 3, True) == [1, 4, 0]
    assert curve_numbers(rows, curves, None, 3, True) == [1, 4]
    assert curve_numbers(rows, {}, 1, 3, True) == []
    assert curve_numbers({}, curves, 0, 5, True) == [0]


def _table(n: int, *, seed: int = 0) -> TrialFrame:
    import random

    rng = random.Random(seed)
    records = []
    for i in range(n):
        lr, width = 10 ** rng.uniform(-4, -2), rng.choice([64, 128])
        value = 0.7 + 0.02 * math.log10(lr) * -1 + rng.gauss(0, 0.001)
        records.append(
            {
                "number": i,
                "state": "complete",
                "value": value,
                "params": {"lr": lr, "width": width, "fixed": 1},
            }
        )
    space = {
        "lr": ParamInfo("lr", "float", 1e-4, 1e-2, log=True),
        "width": ParamInfo("width", "categorical", choices=(64, 128, 256)),
        "fixed": ParamInfo("fixed", "int", 1, 1),
    }
    return TrialFrame.from_records(records, space=space)


def test_importance_names_its_method_and_lists_only_varied_params() -> None:
    assert chart_importance(None) is None
    few = chart_importance(analyze_importance(_table(9)))
    assert few is not None and few.method == "|Spearman ρ|"
    assert next(p for p, _ in few.bars) == "lr" and "fixed" not in dict(few.bars)
    many = chart_importance(analyze_importance(_table(40)))
    assert many is not None and many.method.startswith("fANOVA")
    assert set(dict(many.bars)) == {"lr", "width"} and many.bars[0][0] == "lr"
    assert chart_importance(analyze_importance(_table(3))) is None


def test_pair_grid_counts_and_marks_untested_cells() -> None:
    table = _table(30)
    grid = pair_grid(table, "lr", "width")
    assert grid is not None
    assert grid.y.labels == ["64", "128", "256"]  # declared, 256 never tested
    assert sum(map(sum, grid.count)) == 30
    assert all(n == 0 for n in grid.count[2]) and grid.untested >= 6
    assert all(m is None for m in grid.mean[2])
    assert grid.x.edges is not None and grid.x.edges[0] == pytest.approx(1e-4)
    # log bins: equal ratios
    e = grid.x.edges
    assert e[1] / e[0] == pytest.approx(e[2] / e[1])
    assert pair_grid(table, "lr", "lr") is None and pair_grid(table, "lr", "nope") is None


def test_pair_grid_with_no_completed_trial_and_nan_values() -> None:
    table = TrialFrame.from_records(
        [
            {"number": 0, "state": "complete", "value": NAN, "params": {"a": 1, "b": "x"}},
            {"number": 1, "state": "fail", "value": NAN, "params": {"a": 2, "b": "y"}},
        ]
    )
    grid = pair_grid(table, "a", "b")
    assert grid is not None and grid.span() is None and sum(map(sum, grid.count)) == 0
