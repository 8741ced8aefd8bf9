"""Each analysis on small hand-made tables whose answers are obvious."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest

from kttui.analysis.budgets import budget_size, compare_budgets
from kttui.analysis.convergence import convergence, efficiency
from kttui.analysis.coverage import coverage
from kttui.analysis.duplicates import find_duplicates
from kttui.analysis.elite import elite_analysis
from kttui.analysis.impact import param_impact, value_frequencies
from kttui.analysis.importance import analyze_importance
from kttui.analysis.model_importance import FANOVA_MAX_TRIALS, model_importances
from kttui.analysis.overview import analyze
from kttui.analysis.seeds import seed_noise
from kttui.analysis.significance import tier
from kttui.analysis.table import ParamInfo, TrialFrame, infer_param_info
from kttui.analysis.topn import baseline_diff, top_n
from kttui.recommend.refine import refine_spec


def rec(number: int, value: float, state: str = "complete", **params: Any) -> dict[str, Any]:
    return {"number": number, "state": state, "value": value, "params": params}


# ------------------------------------------------------------------ table
def test_param_kinds_are_inferred() -> None:
    assert infer_param_info("f", [True, False, None]).kind == "bool"
    assert infer_param_info("n", [2, 4, 8.0]).kind == "int"
    lr = infer_param_info("lr", [1e-5, 5e-5, 1e-3])
    assert (lr.kind, lr.log, lr.low, lr.high) == ("float", True, 1e-5, 1e-3)
    assert infer_param_info("d", [0.1, 0.3]).log is False
    cat = infer_param_info("opt", ["adam", "sgd", "adam"])
    assert (cat.kind, cat.choices) == ("categorical", ("adam", "sgd"))


def test_from_records_normalises_states_and_nesting() -> None:
    t = TrialFrame.from_records(
        [
            {
                "number": 0,
                "state": "COMPLETED",
                "value": 1.0,
                "params": {"x": 1},
                "metrics": {"acc": 0.5},
            },
            {"number": 1, "state": "TrialState.PRUNED", "value": 0.5, "params": {"x": 2}},
            {"number": 2, "state": "failed", "value": None, "params": {"x": 3}},
            {"number": 3, "value": float("nan"), "params": {"x": 4}},
            {"number": 4, "value": 2.0, "params": {"x": 5}},
        ]
    )
    assert t.params == ["x"]
    assert list(t.df["state"]) == ["complete", "pruned", "fail", "incomplete", "complete"]
    assert "metric:acc" in t.metric_columns
    assert list(t.completed["number"]) == [0, 4]
    flat = TrialFrame.from_records([{"number": 0, "value": 1.0, "lr": 0.1, "metric:loss": 2.0}])
    assert flat.params == ["lr"]


# ----------------------------------------------------------------- impact
def test_continuous_params_are_binned_in_log_space() -> None:
    records = [rec(i, float(i), lr=10 ** (-5 + 4 * i / 99)) for i in range(100)]
    imp = param_impact(TrialFrame.from_records(records), "lr")
    assert imp.binned and len(imp.rows) == 5
    assert all(r.n == 20 for r in imp.rows)  # log-spaced bins of log-uniform values are even
    assert imp.best_label == imp.rows[-1].label


def test_value_frequencies_count_every_trial() -> None:
    t = TrialFrame.from_records(
        [rec(0, 1.0, d=32), rec(1, math.nan, "fail", d=32), rec(2, 2.0, d=64)]
    )
    assert value_frequencies(t) == {"d": {"32": 2, "64": 1}}


# --------------------------------------------------------------- coverage
def test_gaps_on_observed_grids() -> None:
    records = [
        rec(i, 0.5 + 0.01 * i, dropout=d, lr=lr)
        for i, (d, lr) in enumerate(
            [(0.1, 1e-5), (0.3, 5e-5), (0.5, 1e-4), (0.7, 5e-4), (0.5, 1e-5)]
        )
    ]
    cov = coverage(TrialFrame.from_records(records))
    gaps = {(g.param, g.lower): g.candidates for g in cov.gaps}
    assert gaps[("dropout", 0.3)] == [0.4] and gaps[("dropout", 0.5)] == [0.6]
    assert gaps[("lr", 5e-5)] == [7.1e-5]  # geometric midpoint, 2 significant digits
    pair = cov.pairs[0]
    assert (pair.n_tested, pair.n_possible) == (5, 16)
    assert len(pair.untested_examples) == 5


def test_declared_int_grid_gaps_and_untested_values() -> None:
    space = {"layers": ParamInfo("layers", "int", low=1, high=8)}
    records = [rec(i, float(v), layers=v) for i, v in enumerate([2, 2, 6, 7])]
    cov = coverage(TrialFrame.from_records(records, space=space))
    gap = next(g for g in cov.gaps if g.lower == 2)
    assert (gap.upper, gap.candidates, gap.source) == (6.0, [3.0, 4.0, 5.0], "declared")
    assert cov.untested[0].values == [1.0, 8.0]


# ------------------------------------------------------------- duplicates
def test_repeats_at_different_seeds_are_not_duplicates() -> None:
    records = [
        {**rec(0, 1.0, x=1), "seed": 0},
        {**rec(1, 1.1, x=1), "seed": 1},
        {**rec(2, 1.2, x=1), "seed": 1},
        {**rec(3, 1.3, x=2), "seed": 0},
    ]
    dup = find_duplicates(TrialFrame.from_records(records))
    assert dup.n_wasted == 1
    assert dup.groups[0].numbers == [1, 2]


# ----------------------------------------------------------- seeds/budgets
def test_seed_noise_separates_real_gaps_from_noise() -> None:
    records = []
    n = 0
    for config, mean in (("a", 1.0), ("b", 0.5), ("c", 0.98)):
        for s, eps in enumerate((-0.01, 0.0, 0.01)):
            records.append({**rec(n, mean + eps, cfg=config), "seed": s})
            n += 1
    noise = seed_noise(TrialFrame.from_records(records))
    assert noise is not None and noise.source == "seed column"
    assert [c.params["cfg"] for c in noise.configs] == ["a", "c", "b"]
    assert noise.noise_std == pytest.approx(0.01)
    assert noise.top_gap == pytest.approx(0.02)
    assert noise.gap_exceeds_noise is True
    # Welch: t = 0.02 / (0.01 * sqrt(2/3)) = 2.449 with 4 degrees of freedom -> p = 0.070.
    assert noise.p_value == pytest.approx(0.0704, abs=0.001)
    assert noise.tier == "p<0.10"


def test_budgets_compare_bests_and_ranks() -> None:
    records = []
    n = 0
    for budget, scale in (("20M", 2.0), ("2M", 1.0)):
        for x in range(8):
            records.append({**rec(n, scale * x, x=x), "budget": budget})
            n += 1
    cmp = compare_budgets(TrialFrame.from_records(records))
    assert cmp is not None
    assert cmp.budgets == ["2M", "20M"]  # sorted as sizes, not as text
    assert [b.best_value for b in cmp.bests] == [7.0, 14.0]
    assert cmp.best_increases is True
    (agreement,) = cmp.agreements
    assert agreement.n_shared == 8 and agreement.rho == pytest.approx(1.0)
    assert all(c.consistent for c in cmp.consistency)
    assert budget_size("1.5B") == 1.5e9 and budget_size("tiny") is None
    assert compare_budgets(TrialFrame.from_records([rec(0, 1.0, x=1)])) is None


# -------------------------------------------------------- convergence etc.
def test_convergence_and_pruning_savings() -> None:
    records = [
        {**rec(0, 0.0, x=0), "epochs": 10, "duration_s": 100},
        {**rec(1, 9.6, x=1), "epochs": 10, "duration_s": 100},
        {**rec(2, 5.0, "pruned", x=2), "epochs": 2, "duration_s": 20},
        {**rec(3, 10.0, x=3), "epochs": 10, "duration_s": 100},
        {**rec(4, 1.0, x=4), "epochs": 10, "duration_s": 100},
    ]
    t = TrialFrame.from_records(records)
    c = convergence(t)
    assert c is not None
    assert list(c.curve["best_so_far"]) == [0.0, 9.6, 10.0, 10.0]
    assert (c.best_number, c.number_at_95, c.trials_since_best) == (3, 1, 1)
    e = efficiency(t)
    assert e.n_pruned == 1 and e.pruned_share == pytest.approx(0.2)
    assert e.epochs_saved == 8.0 and e.time_saved_s == pytest.approx(80.0)


def test_convergence_for_minimize() -> None:
    t = TrialFrame.from_records(
        [rec(0, 5.0, x=0), rec(1, 3.0, x=1), rec(2, 4.0, x=2)], direction="minimize"
    )
    c = convergence(t)
    assert c is not None and list(c.curve["best_so_far"]) == [5.0, 3.0, 3.0]
    assert c.best_number == 1


# --------------------------------------------------------------- top-n etc.
def test_top_n_and_baseline_as_a_trial_number() -> None:
    base, best = rec(0, 0.5, x=1, y="a"), rec(1, 0.9, x=2, y="b")
    t = TrialFrame.from_records([base, best])
    top = top_n(t, 1)
    assert list(top["number"]) == [1] and list(top["rank"]) == [1]
    diff = baseline_diff(t, 0)
    assert diff is not None and diff.source == "trial #0"
    assert diff.delta == pytest.approx(0.4)
    assert [r.param for r in diff.breakdown] == ["x", "y"]
    assert all(r.effect is None for r in diff.breakdown)  # no pair differs in one param only
    # A third trial links them: #0 -> #2 changes x only, #2 -> #1 changes y only.
    t2 = TrialFrame.from_records([base, best, rec(2, 0.7, x=2, y="a")])
    diff2 = baseline_diff(t2, 0)
    assert diff2 is not None
    effects = {r.param: r.effect.mean for r in diff2.breakdown if r.effect is not None}
    assert effects == pytest.approx({"x": 0.2, "y": 0.2})
    assert diff2.explained == pytest.approx(diff2.delta)


# ---------------------------------------------------------- importance/elite
def test_significance_tiers() -> None:
    assert (tier(0.01), tier(0.07), tier(0.5), tier(math.nan)) == (
        "p<0.05",
        "p<0.10",
        "n.s.",
        "n.s.",
    )


def test_too_few_trials_give_warnings_not_numbers() -> None:
    t = TrialFrame.from_records([rec(i, float(i), x=i, f=bool(i % 2)) for i in range(5)])
    imp = analyze_importance(t)
    assert imp.importances == []
    assert imp.correlations == []
    assert any("only 5 completed trials" in w for w in imp.warnings)
    assert "fanova" in imp.unavailable and "ped_anova" in imp.unavailable


def test_elite_at_the_declared_bound_asks_to_expand() -> None:
    space = {
        "depth": ParamInfo("depth", "int", low=2, high=6),
        "w": ParamInfo("w", "float", low=0, high=1),
    }
    records = [
        rec(i, float(d) + 0.01 * i, depth=d, w=(i * 0.37) % 1)
        for i, d in enumerate([2, 3, 4, 5, 6] * 4)
    ]
    t = TrialFrame.from_records(records, space=space)
    e = elite_analysis(t)
    depth = e.get("depth")
    assert (
        depth is not None
        and depth.action == "expand"
        and depth.expand_high
        and not depth.expand_low
    )
    spec = refine_spec(
        t,
        {
            "space": {
                "depth": {"type": "int", "low": 2, "high": 6},
                "w": {"type": "float", "low": 0.0, "high": 1.0},
            }
        },
    )
    entry = spec.spec["space"]["depth"]
    assert entry["high"] > 6 and entry["low"] >= 2


def test_single_value_elite_does_not_fix_anything() -> None:
    t = TrialFrame.from_records([rec(i, float(i), x=i % 2) for i in range(4)])
    e = elite_analysis(t)
    assert e.n_elite == 1
    assert all(p.action != "fix" for p in e.params)
    assert e.warnings


def test_all_equal_values_and_nans_do_not_crash() -> None:
    equal = TrialFrame.from_records([rec(i, 1.0, x=i, f=bool(i % 2)) for i in range(12)])
    a = analyze(equal)
    assert a.importance.importances == [] and a.summary.range == 0
    nans = TrialFrame.from_records(
        [rec(i, math.nan if i % 3 == 0 else float(i), x=None if i == 4 else i) for i in range(12)]
    )
    a2 = analyze(nans)
    # Marked complete but without a value: counted as complete, left out of the statistics.
    assert a2.summary.counts["complete"] == 12 and a2.summary.n_valued == 8
    assert a2.summary.mean == pytest.approx(sum(i for i in range(12) if i % 3) / 8)


def test_core_analysis_imports_no_ui() -> None:
    code = (
        "import sys, kttui.analysis.overview, kttui.analysis.findings\n"
        "import kttui.recommend.proposals, kttui.recommend.refine\n"
        "print(' '.join(m for m in ('textual', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_fanova_wrapper_with_a_stand_in_evaluator(monkeypatch: pytest.MonkeyPatch) -> None:
    """scikit-learn is optional: check how a working fANOVA is fed and read, with a fake one."""
    import optuna

    seen: dict[str, Any] = {}

    class FakeFanova(optuna.importance.BaseImportanceEvaluator):
        def __init__(self, **kwargs: Any) -> None:
            seen["kwargs"] = kwargs

        def evaluate(
            self, study: Any, params: Any = None, *, target: Any = None
        ) -> dict[str, float]:
            seen["n_trials"] = len(study.trials)
            seen["params"] = list(params)
            return {p: float(i + 1) for i, p in enumerate(params)}

    monkeypatch.setattr(optuna.importance, "FanovaImportanceEvaluator", FakeFanova)
    records = [rec(i, float(i % 7), x=i % 5, y=None if i % 2 else i % 3) for i in range(1500)]
    imps, unavailable = model_importances(TrialFrame.from_records(records))
    fanova = next(i for i in imps if i.method == "fanova")
    assert "fanova" not in unavailable
    assert seen["n_trials"] == FANOVA_MAX_TRIALS and fanova.sampled
    assert seen["params"] == ["x"]  # y is conditional (missing in half the trials)
    assert fanova.percent == {"x": 100.0, "y": 0.0}
    assert "conditional params left out: y" in fanova.note
    assert seen["kwargs"]["n_trees"] == 32


def test_fanova_without_scikit_learn_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import optuna

    def missing(**kwargs: Any) -> None:
        raise ImportError("No module named 'sklearn'")

    monkeypatch.setattr(optuna.importance, "FanovaImportanceEvaluator", missing)
    records = [rec(i, float(i % 7), x=i % 5) for i in range(30)]
    imps, unavailable = model_importances(TrialFrame.from_records(records))
    assert unavailable["fanova"] == "needs scikit-learn, which is not installed"
    assert [i.method for i in imps] == ["ped_anova"]
