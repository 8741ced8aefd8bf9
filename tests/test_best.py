"""kttui.best: which trial is best, one rule (finite values only, ties keep the earlier)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from kttui.best import best, finite, is_better, maximizing, ranked, running_best
from kttui.session import Session, summarize

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    ("values", "maximize", "expected"),
    [
        ([0.1, 0.3, 0.2], True, 1),
        ([0.1, 0.3, 0.2], False, 0),
        ([0.3, 0.3, 0.1], True, 0),  # a tie keeps the earlier trial
        ([0.1, 0.1, 0.3], False, 0),
        ([NAN, 0.2, 0.1], True, 1),  # NaN first must not block every later value
        ([0.2, NAN, 0.5], True, 2),
        ([INF, 0.2], True, 1),  # an infinite objective is a broken trial
        ([-INF, 0.2], False, 1),
        ([None, 0.2], True, 1),
        ([True, 0.2], True, 1),  # a bool is not a value
        ([-0.0, 0.0], True, 0),  # -0.0 == 0.0: a tie
        ([5, 2.5], True, 0),  # ints count
        ([], True, None),
        ([NAN, None, INF], True, None),
    ],
)
def test_best(values: list[Any], maximize: bool, expected: int | None) -> None:
    items = list(enumerate(values))
    found = best(items, lambda t: t[1], maximize)
    assert (found[0] if found else None) == expected


@pytest.mark.parametrize(
    ("values", "maximize", "order"),
    [
        ([0.1, 0.3, 0.2, 0.3], True, [1, 3, 2, 0]),
        ([0.1, 0.3, 0.2, 0.1], False, [0, 3, 2, 1]),
        ([NAN, 0.2, INF, None, 0.1], True, [1, 4]),
        ([], True, []),
    ],
)
def test_ranked(values: list[Any], maximize: bool, order: list[int]) -> None:
    assert [i for i, _ in ranked(list(enumerate(values)), lambda t: t[1], maximize)] == order


@pytest.mark.parametrize(
    ("values", "maximize", "expected"),
    [
        ([0.1, 0.3, 0.2], True, [0.1, 0.3, 0.3]),
        ([0.1, 0.3, 0.05], False, [0.1, 0.1, 0.05]),
        ([NAN, 0.2, INF, 0.1], True, [None, 0.2, 0.2, 0.2]),
        ([], True, []),
    ],
)
def test_running_best(values: list[Any], maximize: bool, expected: list[float | None]) -> None:
    assert running_best(values, maximize) == expected


def test_small_rules() -> None:
    assert maximizing("maximize") and maximizing(None) and not maximizing("minimize")
    assert finite(1) and finite(-0.0) and not finite(True) and not finite(NAN)
    assert not finite("1") and not finite(None) and not finite(INF)
    assert is_better(1.0, None, True) and not is_better(NAN, None, True)
    assert not is_better(1.0, 1.0, True) and is_better(0.5, 1.0, False)


def _session(tmp_path: Path, direction: str, trials: list[tuple[str, Any]]) -> Session:
    root = tmp_path / direction
    (root / "trials").mkdir(parents=True)
    (root / "session.json").write_text(
        json.dumps({"objective": {"metric": "auc", "direction": direction}})
    )
    for number, (state, value) in enumerate(trials):
        tdir = root / "trials" / str(number)
        tdir.mkdir()
        # json writes NaN/Infinity, as Python's json.dump of a status would
        (tdir / "status.json").write_text(
            json.dumps({"number": number, "state": state, "value": value})
        )
    return Session(root)


@pytest.mark.parametrize(
    ("direction", "trials", "best_trial"),
    [
        ("maximize", [("complete", NAN), ("complete", 0.2), ("complete", 0.1)], 1),
        ("maximize", [("complete", INF), ("complete", 0.2)], 1),
        ("maximize", [("fail", 0.9), ("complete", 0.2), ("complete", 0.2)], 1),
        ("minimize", [("complete", 0.3), ("pruned", 0.01), ("complete", 0.2)], 2),
        ("maximize", [("running", 0.5)], None),
    ],
)
def test_kttui_status_best(
    tmp_path: Path, direction: str, trials: list[tuple[str, Any]], best_trial: int | None
) -> None:
    """`kttui status`/`sessions` used to call a NaN first trial the best for good."""
    summary = summarize(_session(tmp_path, direction, trials))
    assert summary["best_trial"] == best_trial
    if best_trial is not None:
        assert summary["best_value"] == trials[best_trial][1]
