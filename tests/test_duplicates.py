"""Zero duplicate evaluations: a config already launched is never launched again."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import optuna

from kttui.session import list_sessions
from tests.conftest import kttui, write_spec

TWELVE = {
    "x": {"type": "categorical", "choices": [0.1, 0.4, 0.7]},
    "y": {"type": "int", "low": 1, "high": 4},
}


def _run(tmp_path: Path, store: Path, **over: object) -> tuple[list[dict], optuna.Study]:
    spec = write_spec(tmp_path / "s.yaml", **over)
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session = list_sessions(store)[0]
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{session.db_path}")
    return session.trial_statuses(), study


def test_tpe_with_four_workers_runs_each_of_twelve_points_once(tmp_path: Path, store: Path) -> None:
    statuses, study = _run(
        tmp_path,
        store,
        space=TWELVE,
        fixed={"epochs": 2, "epoch_s": 0.01},
        strategy={"sampler": "tpe", "n_trials": 40, "seed": 0},
        resources={"backend": "local", "cpu_slots": 4},
    )
    keys = Counter((s["params"]["x"], s["params"]["y"]) for s in statuses)
    assert len(statuses) == 12 and set(keys.values()) == {1}
    reused = [t for t in study.trials if "kttui:reuse_of" in t.user_attrs]
    for t in reused:  # a reuse is told the original's value and never launched
        original = study.trials[t.user_attrs["kttui:reuse_of"]]
        assert t.params == original.params
        if t.state.name == "COMPLETE":
            assert t.value == original.value
        else:  # the original was still running when the repeat was proposed
            assert t.datetime_complete < original.datetime_complete
    session = list_sessions(store)[0]
    runner = session.runner() or {}
    assert runner["state"] == "finished"
    assert runner["reason"] == "space exhausted: all 12 feasible configs evaluated"


def test_random_on_a_small_space_reports_exhaustion_and_respects_constraints(
    tmp_path: Path, store: Path
) -> None:
    statuses, _ = _run(
        tmp_path,
        store,
        space=TWELVE,
        fixed={"epochs": 1},
        constraints=["y != 2 or x > 0.5"],  # removes (0.1, 2) and (0.4, 2): 10 feasible
        strategy={"sampler": "random", "n_trials": 30, "seed": 3},
        resources={"backend": "local", "cpu_slots": 2},
    )
    pairs = [(s["params"]["x"], s["params"]["y"]) for s in statuses]
    assert len(pairs) == len(set(pairs)) == 10
    assert (0.1, 2) not in pairs and (0.4, 2) not in pairs


def test_list_strategy_runs_exactly_its_configs_in_order(tmp_path: Path, store: Path) -> None:
    configs = [{"x": 0.7, "y": 4}, {"x": 0.1, "y": 1}, {"x": 0.7, "y": 4}, {"x": 0.4, "y": 2}]
    statuses, _ = _run(
        tmp_path,
        store,
        space=TWELVE,
        fixed={"epochs": 1},
        strategy={"sampler": "list", "configs": configs},
        resources={"backend": "local", "cpu_slots": 1},
    )
    ran = [(s["params"]["x"], s["params"]["y"]) for s in statuses]
    assert ran == [(0.7, 4), (0.1, 1), (0.4, 2)]  # the repeated config runs once


def test_list_configs_are_checked_against_the_space(tmp_path: Path) -> None:
    from kttui.specload import SpecError, load_spec

    spec = write_spec(
        tmp_path / "s.yaml",
        space=TWELVE,
        strategy={"sampler": "list", "configs": [{"x": 0.5, "y": 9}, {"x": 0.1}]},
    )
    try:
        load_spec(spec)
    except SpecError as exc:
        text = str(exc)
    else:
        raise AssertionError("invalid configs accepted")
    assert "strategy.configs[0].x: 0.5 is not one of the choices" in text
    assert "strategy.configs[0].y: 9 is outside [1, 4]" in text
    assert "strategy.configs[1]: missing value(s) for y" in text
