"""Strategies, constraints, stop rules, ASHA and `kttui enqueue` with real trial processes."""

from __future__ import annotations

import importlib.util
import json
import os
import random
from pathlib import Path
from typing import Any

import optuna
import pytest

from kttui.runner import Runner
from kttui.session import Session, list_sessions
from kttui.specload import load_spec, load_spec_text
from kttui.stopping import regret_bound
from kttui.strategies.extremes import forced_points
from tests.conftest import kttui, wait_for, write_spec

SPACE = {
    "x": {"type": "float", "low": 0.0, "high": 1.0},
    "k": {"type": "categorical", "choices": ["a", "b", "c"]},
    "n": {"type": "int", "low": 1, "high": 5},
}


def _sweep(tmp_path: Path, store: Path, **over: Any) -> list[dict[str, Any]]:
    spec = write_spec(tmp_path / "s.yaml", **over)
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    return list_sessions(store)[-1].trial_statuses()


def test_forced_points_cover_every_extreme_and_choice() -> None:
    text = (
        "name: t\nobjective: {metric: m}\ncommand: [x]\n"
        "space:\n  x: {type: float, low: 0.001, high: 1.0, log: true}\n"
        "  k: {type: categorical, choices: [a, b, c]}\n  n: {type: int, low: 1, high: 9, step: 2}\n"
        "  flag: {type: bool}\nconstraints: ['not (n == 9 and k == \"c\")']\n"
        "strategy: {sampler: extremes+tpe, n_trials: 30}\n"
    )
    space = load_spec_text(text).space
    points = forced_points(space)
    assert {p["x"] for p in points} >= {0.001, 1.0}
    assert {p["k"] for p in points} == {"a", "b", "c"}
    assert {p["n"] for p in points} >= {1, 9}
    assert {p["flag"] for p in points} == {False, True}
    assert all(not (p["n"] == 9 and p["k"] == "c") for p in points)
    assert len({tuple(sorted(p.items())) for p in points}) == len(points)


SAMPLERS = ["random", "tpe", "qmc", "cmaes", "extremes+tpe"]
if importlib.util.find_spec("torch") is not None:
    SAMPLERS.append("gp")


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_each_strategy_runs_a_sweep_without_duplicates(
    tmp_path: Path, store: Path, sampler: str
) -> None:
    statuses = _sweep(
        tmp_path,
        store,
        space=SPACE,
        fixed={"epochs": 1},
        strategy={"sampler": sampler, "n_trials": 8, "seed": 1},
    )
    assert len(statuses) == 8 and all(s["state"] == "complete" for s in statuses)
    keys = {tuple(sorted(s["sampled"].items())) for s in statuses}
    assert len(keys) == 8
    if sampler == "extremes+tpe":  # the forced phase comes first
        first = [s["sampled"] for s in sorted(statuses, key=lambda s: s["number"])]
        assert {0.0, 1.0} <= {p["x"] for p in first} and {1, 5} <= {p["n"] for p in first}
        assert {p["k"] for p in first} == {"a", "b", "c"}


def test_ofat_runs_exactly_its_configs(tmp_path: Path, store: Path) -> None:
    statuses = _sweep(
        tmp_path,
        store,
        space=SPACE,
        fixed={"epochs": 1},
        strategy={
            "sampler": "ofat",
            "n_trials": None,
            "base": {"x": 0.5, "k": "b", "n": 3},
            "values": {"x": [0.1, 0.9], "n": [1, 5]},
        },
        resources={"backend": "local", "cpu_slots": 1},
    )
    ran = [s["sampled"] for s in sorted(statuses, key=lambda s: s["number"])]
    base = {"x": 0.5, "k": "b", "n": 3}
    # the base, then each param in the spec's order (the spec file lists k, n, x)
    assert ran == [
        base,
        {**base, "k": "a"},
        {**base, "k": "c"},
        {**base, "n": 1},
        {**base, "n": 5},
        {**base, "x": 0.1},
        {**base, "x": 0.9},
    ]


@pytest.mark.parametrize(("sampler", "asks"), [("random", 500), ("tpe", 60)])
def test_constraints_never_violated_in_500_asks(tmp_path: Path, sampler: str, asks: int) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        space={
            "d_model": {"type": "categorical", "choices": [32, 48, 64, 96, 128]},
            "n_heads": {"type": "int", "low": 1, "high": 8},
            "x": {"type": "float", "low": 0.0, "high": 1.0},
        },
        derived={"d_ff": "d_model * 2 * n_heads"},
        constraints=["d_model % n_heads == 0", "d_ff <= 8 * d_model"],
        strategy={"sampler": sampler, "n_trials": asks, "seed": 0},
    )
    loaded = load_spec(spec)
    session = Session.create(tmp_path / "st", loaded.spec, loaded.text)
    runner = Runner(session, loaded)
    runner._open_study()
    runner._count()
    rng = random.Random(0)
    seen = 0
    while seen < asks:
        prepared = None
        for _ in range(50):  # a call makes a bounded number of asks; the runner retries
            prepared = prepared or runner.proposer.next()
        assert prepared is not None
        c = prepared.config
        assert c["d_model"] % c["n_heads"] == 0 and c["d_ff"] <= 8 * c["d_model"]
        runner.study.tell(prepared.trial, rng.random())
        runner.proposer.record_launch(prepared)
        seen += 1
    infeasible = [t for t in runner.study.trials if "kttui:infeasible" in t.user_attrs]
    assert infeasible and all(t.state.name == "FAIL" for t in infeasible)


def test_asha_prunes_the_worse_curve_and_keeps_the_better(tmp_path: Path, store: Path) -> None:
    statuses = _sweep(
        tmp_path,
        store,
        space={"x": {"type": "categorical", "choices": [0.5, 0.6, 0.1, 0.9]}},
        # epochs long enough that the verdict (from the prune worker) lands before the
        # trial could finish on its own, even on a loaded machine
        fixed={"epochs": 8, "epoch_s": 0.3},
        strategy={"sampler": "list", "configs": [{"x": 0.5}, {"x": 0.6}, {"x": 0.1}, {"x": 0.9}]},
        pruner={"type": "asha", "min_epochs": 1, "reduction_factor": 2},
        resources={"backend": "local", "cpu_slots": 1},
    )
    by_x = {s["params"]["x"]: s for s in statuses}
    assert by_x[0.1]["state"] == "pruned" and by_x[0.1]["epochs"] < 8
    assert by_x[0.9]["state"] == "complete" and by_x[0.9]["epochs"] == 8


def test_stop_when_target_and_no_improvement(tmp_path: Path, store: Path) -> None:
    configs = [{"x": v} for v in (0.2, 0.3, 0.95, 0.4, 0.5, 0.6)]
    statuses = _sweep(
        tmp_path,
        store,
        space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
        fixed={"epochs": 1},
        strategy={"sampler": "list", "configs": configs, "n_trials": None},
        stop_when={"target": 0.45},  # score = x / 2 after one epoch
        resources={"backend": "local", "cpu_slots": 1},
    )
    assert len(statuses) == 3
    session = list_sessions(store)[-1]
    assert session.state() == "stopped"
    assert (session.runner() or {})["reason"].startswith("target 0.45 reached by trial 2")
    store2 = tmp_path / "store2"
    statuses = _sweep(
        tmp_path,
        store2,
        space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
        fixed={"epochs": 1},
        strategy={"sampler": "list", "configs": configs, "n_trials": None},
        stop_when={"no_improvement_trials": 2},
        resources={"backend": "local", "cpu_slots": 1},
    )
    assert len(statuses) == 5  # best at trial 2, then two without improvement
    reason = (list_sessions(store2)[-1].runner() or {})["reason"]
    assert reason.startswith("no improvement in 2 completed trials")


def test_regret_bound_shrinks_as_the_optimum_is_pinned_down() -> None:
    space = load_spec_text(
        "name: t\nobjective: {metric: m}\ncommand: [x]\n"
        "space: {x: {type: float, low: 0.0, high: 1.0}}\nstrategy: {sampler: random, n_trials: 9}\n"
    ).space
    f = lambda x: 1 - (x - 0.3) ** 2  # noqa: E731
    few = [{"x": v} for v in (0.9, 0.95, 0.85, 0.8, 0.99, 0.75)]
    many = [{"x": i / 59} for i in range(60)]
    wide = regret_bound(space, few, [f(c["x"]) for c in few], maximize=True)
    tight = regret_bound(space, many, [f(c["x"]) for c in many], maximize=True)
    assert tight < wide / 5, (tight, wide)


def test_enqueue_adds_a_config_to_a_running_sweep(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        space=SPACE,
        fixed={"epochs": 20, "epoch_s": 0.1},
        strategy={"sampler": "random", "n_trials": 2, "seed": 0},
        resources={"backend": "local", "cpu_slots": 1, "kill_grace_s": 1},
    )
    assert kttui("run", str(spec), "--sessions-dir", str(store)).returncode == 0
    session = list_sessions(store)[0]
    wait_for(lambda: session.trial_numbers(), timeout=20)
    proc = kttui("enqueue", session.id, "x=0.25", "k=c", "n=2", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    bad = kttui("enqueue", session.id, "x=3", "k=c", "n=2", "--sessions-dir", str(store))
    assert bad.returncode == 1 and "outside [0.0, 1.0]" in bad.stderr
    unknown = kttui("enqueue", session.id, "lr=3", "--sessions-dir", str(store))
    assert unknown.returncode == 1 and "not params of the space: lr" in unknown.stderr
    wait_for(lambda: session.state() == "finished", timeout=60)
    ran = [s["sampled"] for s in session.trial_statuses()]
    assert len(ran) == 3 and {"x": 0.25, "k": "c", "n": 2} in ran
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{session.db_path}")
    assert sum(1 for t in study.trials if t.user_attrs.get("kttui:enqueued")) == 1


def test_repeats_run_each_config_once_per_seed(tmp_path: Path, store: Path) -> None:
    from kttui.analysis.load import load_session
    from kttui.analysis.seeds import seed_noise

    record = tmp_path / "record.jsonl"
    statuses = _sweep(
        tmp_path,
        store,
        space={"x": {"type": "categorical", "choices": [0.2, 0.5, 0.8]}},
        fixed={"epochs": 1, "record": str(record)},
        repeats={"seeds": [11, 12, 13]},
        strategy={"sampler": "random", "n_trials": 2, "seed": 0},
        resources={"backend": "local", "cpu_slots": 2},
    )
    assert len(statuses) == 6  # 2 configs x 3 seeds, no more (duplicates never run)
    groups: dict[int, list[dict[str, Any]]] = {}
    for s in statuses:
        groups.setdefault(s["group"], []).append(s)
    assert len(groups) == 2
    for members in groups.values():
        assert sorted(m["seed"] for m in members) == [11, 12, 13]
        assert len({m["params"]["x"] for m in members}) == 1
        assert sorted(m["params"]["seed"] for m in members) == [11, 12, 13]
    session = list_sessions(store)[-1]
    assert (session.runner() or {})["reason"] == "all 2 trials done"
    table = load_session(session)
    assert sorted(set(table.df["seed"])) == [11, 12, 13]
    assert seed_noise(table) is not None


def test_budget_tiers_promote_the_best_and_resume(tmp_path: Path, store: Path) -> None:
    configs = [{"x": v} for v in (0.2, 0.9, 0.4, 0.7, 0.3, 0.8)]
    record = tmp_path / "record.jsonl"
    statuses = _sweep(
        tmp_path,
        store,
        space={"x": {"type": "float", "low": 0.0, "high": 1.0}},
        fixed={"epoch_s": 0.01, "record": str(record)},
        budgets={"param": "epochs", "tiers": [2, 4, 8], "promote": 0.5},
        strategy={"sampler": "list", "configs": configs, "n_trials": None},
        resources={"backend": "local", "cpu_slots": 1},
    )
    by_tier: dict[int, list[float]] = {}
    for s in statuses:
        assert s["params"]["epochs"] == s["budget"] == [2, 4, 8][s["tier"]]
        by_tier.setdefault(s["tier"], []).append(s["params"]["x"])
    assert sorted(by_tier[0]) == [0.2, 0.3, 0.4, 0.7, 0.8, 0.9]
    # asynchronous halving: at each tier's result, the best half so far moves up
    assert len(by_tier[1]) == 3 and 0.9 in by_tier[1] and 0.2 not in by_tier[1]
    assert len(by_tier[2]) == 1 and by_tier[2][0] in by_tier[1]
    session = list_sessions(store)[-1]
    promoted = [s for s in statuses if s["tier"] > 0]
    runs = {r["trial"]: r for r in (json.loads(x) for x in record.read_text().splitlines())}
    for s in promoted:  # a promoted trial is told where its lower tier's checkpoint is
        resume = runs[s["number"]]["env"]["KTTUI_RESUME_FROM"]
        assert Path(resume).parent == session.trials_dir
    assert (session.runner() or {})["reason"] == "all 6 trials done"


def test_embedded_trainer_resumes_from_a_lower_tier(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import subprocess
    import sys

    common = [
        "--model",
        "dkt",
        "--n_students",
        "200",
        "--patience",
        "0",
        "--data-cache",
        str(tmp_path / "cache"),
    ]
    low, high = tmp_path / "low", tmp_path / "high"
    env = {**os.environ, "KTTUI_METRICS": str(tmp_path / "low.jsonl")}
    subprocess.run(
        [sys.executable, "-m", "kttui.kt.train", *common, "--epochs", "2", "--out", str(low)],
        check=True,
        env=env,
        capture_output=True,
    )
    env = {
        **os.environ,
        "KTTUI_METRICS": str(tmp_path / "high.jsonl"),
        "KTTUI_RESUME_FROM": str(low),
    }
    out = subprocess.run(
        [sys.executable, "-m", "kttui.kt.train", *common, "--epochs", "4", "--out", str(high)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "resumed at epoch 2" in out.stdout
    epochs = [json.loads(x) for x in (tmp_path / "high.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs if "epoch" in e] == [3, 4]
    first = [json.loads(x) for x in (tmp_path / "low.jsonl").read_text().splitlines()]
    assert epochs[0]["train_loss"] < first[0]["train_loss"]  # it continued, not restarted


def test_run_with_configs_from_a_csv(tmp_path: Path, store: Path) -> None:
    spec = write_spec(tmp_path / "s.yaml", space=SPACE, fixed={"epochs": 1})
    good = tmp_path / "configs.csv"
    good.write_text("x,k,n\n0.1,a,1\n0.5,c,4\n0.1,a,1\n")
    proc = kttui(
        "run", str(spec), "--configs", str(good), "--foreground", "--sessions-dir", str(store)
    )
    assert proc.returncode == 0, proc.stderr
    session = list_sessions(store)[0]
    ran = sorted(
        (s["sampled"]["x"], s["sampled"]["k"], s["sampled"]["n"]) for s in session.trial_statuses()
    )
    assert ran == [(0.1, "a", 1), (0.5, "c", 4)]  # the repeated row runs once
    assert "sampler: list" in session.spec_path.read_text()  # the copy says what ran
    bad = tmp_path / "bad.csv"
    bad.write_text("x,k,n\n0.1,a,1\n2.0,z,1\n")
    proc = kttui("run", str(spec), "--configs", str(bad), "--sessions-dir", str(tmp_path / "s2"))
    assert proc.returncode == 2
    assert f"{bad}:3: x: 2.0 is outside [0.0, 1.0]" in proc.stderr
    assert f"{bad}:3: k: 'z' is not one of the choices" in proc.stderr
