"""Recommendations: the pure rules of refining a range, and proposals the runner would run.

Proposals are checked for feasibility by the runner's own SearchSpace; these
tests hold them to what ``kttui run`` accepts, both ways: nothing it rejects is
proposed, and nothing it accepts is dropped.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from kttui.analysis.table import TrialFrame
from kttui.recommend.proposals import Proposal, feasibility, interleave, supplementary_trials, widen
from kttui.recommend.ranges import (
    expanded_bounds,
    margin,
    next_choice,
    range_entry,
    round_sig,
    with_neighbours,
)
from kttui.recommend.yamlstyle import float_text, spec_yaml
from kttui.space import Infeasible
from kttui.specload import load_spec, load_spec_text
from tests.conftest import kttui, write_spec

DERIVED_OUT_OF_ORDER = {"b": "c*2", "c": "a+1"}  # b needs c, which is listed after it


def _spec(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "d",
        "objective": {"metric": "score", "direction": "maximize", "summary": "best"},
        "command": ["python", "train.py"],
        "space": {
            "a": {"type": "float", "low": 0.0, "high": 1.0},
            "k": {"type": "categorical", "choices": [1, 2, 3]},
        },
        "derived": dict(DERIVED_OUT_OF_ORDER),
        "constraints": ["b > 0"],
        "strategy": {"sampler": "random", "n_trials": 12, "seed": 0},
    }
    spec.update(over)
    return spec


def _table() -> TrialFrame:
    """a in the middle of [0, 1] only, so the forced extremes a=0 and a=1 are proposed."""
    records = [
        {"number": i, "state": "complete", "value": 0.5 + 0.01 * i, "params": {"a": a, "k": k}}
        for i, (a, k) in enumerate((0.3 + 0.04 * j, 1 + j % 3) for j in range(12))
    ]
    return TrialFrame.from_records(records, params=["a", "k"], objective="score")


def _runner_accepts(spec: dict[str, Any], config: dict[str, Any]) -> bool:
    space = load_spec_text(spec_yaml(spec)).space
    try:
        space.complete(config)
    except Infeasible:
        return False
    return True


def test_derived_params_out_of_order_keep_every_proposal_the_runner_accepts() -> None:
    spec = _spec()
    table = _table()
    best = table.config_of(table.ranked().iloc[0])
    assert _runner_accepts(spec, best)  # the runner orders derived params by dependency
    proposals = supplementary_trials(table, base_spec=spec)
    assert proposals, "every proposal was dropped as infeasible"
    assert all(_runner_accepts(spec, p.config) for p in proposals)
    unconstrained = supplementary_trials(table, base_spec=_spec(constraints=[], derived={}))
    assert [p.config for p in proposals] == [p.config for p in unconstrained]


def test_proposals_leave_out_what_the_runner_rejects() -> None:
    spec = _spec(constraints=["b < 3.2"])  # b = 2a + 2, so a < 0.6
    table = _table()
    free = supplementary_trials(table, base_spec=_spec(constraints=[]))
    assert any(p.config["a"] >= 0.6 for p in free)  # the upper extreme a=1 is proposed
    kept = supplementary_trials(table, base_spec=spec)
    assert kept and all(p.config["a"] < 0.6 for p in kept)
    assert [p.config for p in kept] == [p.config for p in free if _runner_accepts(spec, p.config)]


def test_feasibility_sets_the_budget_param_as_the_runner_does() -> None:
    spec = _spec(
        derived={"steps": "epochs * 10"},
        constraints=["steps >= 10"],
        budgets={"param": "epochs", "tiers": [1, 3]},
    )
    load_spec_text(spec_yaml(spec))  # a spec the runner takes
    ok = feasibility(spec)
    assert ok({"a": 0.5, "k": 1})
    strict = feasibility({**spec, "constraints": ["steps >= 20"]})  # tier 0 runs 1 epoch
    assert not strict({"a": 0.5, "k": 1})


def test_feasibility_without_expressions_or_with_an_invalid_spec_accepts_all() -> None:
    assert feasibility(None)({"a": 1})
    assert feasibility(_spec(derived={}, constraints=[]))({"a": 5.0, "k": 9})
    # Not a spec kttui run would start (no command): nothing to check against.
    assert feasibility({"space": {}, "constraints": ["a > 10"]})({"a": 1})


def test_report_proposals_with_derived_params_out_of_order(tmp_path: Path, store: Path) -> None:
    """`kttui report --proposals` on a real session wrote an empty list before the fix."""
    spec = write_spec(
        tmp_path / "s.yaml",
        space={
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "k": {"type": "categorical", "choices": [1, 2, 3]},
        },
        derived={"b": "c*2", "c": "x+1"},
        constraints=["b > 0"],
        strategy={"sampler": "random", "n_trials": 8, "seed": 0},
    )
    run = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert run.returncode == 0, run.stderr
    extra = tmp_path / "extra.yaml"
    proc = kttui("report", "--proposals", str(extra), "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    loaded = load_spec(extra)
    configs = loaded.spec.strategy.configs or []
    assert len(configs) > 0
    for config in configs:
        loaded.space.complete(dict(config))  # raises Infeasible if the runner would reject it


# ------------------------------------------------------------- pure pieces
def test_round_sig_rounds_outward_when_asked() -> None:
    assert round_sig(0.012345) == 0.0123
    assert round_sig(0.475, 2) == 0.47  # nearest to the stored 0.47499999..., as coverage rounds
    assert round_sig(0.012345, 3, "up") == 0.0124
    assert round_sig(0.012399, 3, "down") == 0.0123
    assert round_sig(-2.54e-5, 2, "down") == -2.6e-5  # down is down for a negative number too
    assert round_sig(-2.54e-5, 2, "up") == -2.5e-5
    assert round_sig(0.0) == 0.0 and math.isinf(round_sig(math.inf))


def test_margin_pads_in_the_params_scale_and_stays_in_bounds() -> None:
    lin = {"type": "float", "low": 0.0, "high": 1.0}
    assert margin(0.4, 0.6, lin, 0.5) == pytest.approx((0.3, 0.7))
    assert margin(0.0, 0.2, lin, 0.5) == pytest.approx((0.0, 0.3))  # clipped at the bound
    log = {"type": "float", "low": 1e-5, "high": 1e-1, "log": True}
    lo, hi = margin(1e-4, 1e-3, log, 0.1)
    assert lo == pytest.approx(10**-4.1) and hi == pytest.approx(10**-2.9)
    assert margin(0.5, 0.5, lin, 0.5) == pytest.approx((0.45, 0.55))  # 5 % of the full range
    tried = {"type": "float"}  # no declared bounds: the range tried bounds it
    assert margin(1.5, 1.5, tried, 0.5, (1.0, 2.0)) == pytest.approx((1.45, 1.55))
    assert margin(1.2, 1.8, tried, 1.0, (1.0, 2.0)) == pytest.approx((1.0, 2.0))


def test_range_entry_snaps_outward_to_the_step() -> None:
    ints = {"type": "int", "low": 0, "high": 100, "step": 10}
    assert range_entry(ints, 23, 47) == {"type": "int", "low": 20, "high": 50, "step": 10}
    floats = {"type": "float", "low": 0.0, "high": 1.0, "step": 0.05}
    assert range_entry(floats, 0.33, 0.41) == {
        "type": "float",
        "low": 0.3,
        "high": 0.45,
        "step": 0.05,
    }
    cont = {"type": "float", "low": 1e-5, "high": 1e-1, "log": True}
    assert range_entry(cont, 1.234e-4, 5.678e-3) == {
        "type": "float",
        "low": 1.23e-4,
        "high": 5.68e-3,
        "log": True,
    }
    assert range_entry({"type": "int", "low": 1, "high": 8}, 4, 4) == {
        "type": "int",
        "low": 4,
        "high": 5,
    }  # one step wide, so there is still something to sample
    assert range_entry({"type": "float", "low": 0.0, "high": 1.0}, 0.5, 0.5) is None
    grid = {"type": "categorical", "choices": [64, 128, 256, 512]}
    assert range_entry(grid, 100, 300) == {"type": "categorical", "choices": [128, 256]}
    assert range_entry(grid, 100, 200) is None  # one choice is no range
    assert range_entry({"type": "categorical", "choices": ["x", "y"]}, 0, 1) is None


def test_expanded_bounds() -> None:
    prob = {"type": "float", "low": 0.1, "high": 0.9}
    lo, hi, note = expanded_bounds(prob, low=True, high=True)
    assert (lo, hi) == pytest.approx((0.0, 1.0)) and note is not None and "capped at 1" in note
    depth = {"type": "int", "low": 2, "high": 6}
    assert expanded_bounds(depth, low=True, high=False) == (1.0, 6.0, None)
    lr = {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}
    lo, hi, note = expanded_bounds(lr, low=False, high=True)
    assert lo == 1e-4 and hi == pytest.approx(1e-1) and note is None  # one decade of two


def test_next_choice_continues_a_grid() -> None:
    assert next_choice(128, 256, ints=True) == 512  # geometric
    assert next_choice(256, 128, ints=True) == 64
    assert next_choice(2, 3, ints=True) == 4  # arithmetic
    assert next_choice(0.2, 0.3, ints=False) == pytest.approx(0.4)


def test_with_neighbours_keeps_one_choice_either_side() -> None:
    assert with_neighbours([1, 2, 4, 8, 16], {4.0}) == [2, 4, 8]
    assert with_neighbours([16, 1, 8, 2, 4], {1.0, 2.0}) == [1, 2, 4]
    assert with_neighbours(["adam", "sgd"], {"adam"}) == ["adam", "sgd"]  # no order: all kept


def test_widen_grows_an_entry_just_enough() -> None:
    assert widen({"type": "categorical", "choices": [64, 256]}, 128) == {
        "type": "categorical",
        "choices": [64, 128, 256],
    }
    stepped = {"type": "int", "low": 2, "high": 8, "step": 2}
    assert widen(stepped, 10) == {"type": "int", "low": 2, "high": 10, "step": 2}
    assert widen(stepped, 9) == {"type": "int", "low": 2, "high": 9}  # the step no longer fits
    assert widen({"type": "bool"}, True) == {"type": "bool"}


def test_interleave_labels_each_kind_in_turn() -> None:
    def props(kind: Any, n: int) -> list[Proposal]:
        return [Proposal("", kind, {"i": i}, "") for i in range(n)]

    picked = interleave({"between": props("between", 3), "extreme": props("extreme", 1)}, 4)
    assert [p.label for p in picked] == ["B1", "X1", "B2", "B3"]
    assert len(interleave({"combination": props("combination", 9)}, 5)) == 5


def test_floats_are_written_so_yaml_1_1_reads_numbers() -> None:
    assert float_text(1e-05) == "1.0e-05"
    assert float_text(2.5e-07) == "2.5e-07"
    assert float_text(0.001) == "0.001"
    assert (float_text(math.nan), float_text(-math.inf)) == (".nan", "-.inf")
    text = spec_yaml({"fixed": {"lr": 1e-05}, "space": {"x": {"type": "float", "low": 1e-6}}})
    assert "lr: 1.0e-05" in text
    assert YAML(typ="safe", pure=True).load(text)["fixed"]["lr"] == 1e-05
