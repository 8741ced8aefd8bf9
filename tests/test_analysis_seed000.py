"""Seed 000 (GainAKT4 grid sweep) re-analysed from its own appendix.

The expected numbers below were computed by hand from the 26 rows of the
appendix (tests/fixtures/seed000_appendix.csv, transcribed from the seed), not
taken from the tool. Where the seed's hand-written tables disagree with its
appendix, the comment says so; the tool must match the appendix:

* "Better than baseline (0.7181): 15/26 (57.7%)" — only 24 trials have a
  result; 14 are strictly better, 2 tie at 0.7181, 8 are worse (not 11/26).
* "Range 0.0171", "Std 0.0032" — 0.7193 - 0.7021 = 0.0172; sample std 0.0034.
* d_ff table "N=13 / N=13, means 0.7170 / 0.7184, impact +0.0014" — 13 and 11
  completed trials (14 and 12 with the incomplete ones), means 0.71695 / 0.71855,
  difference +0.0016; matched pairs give +0.00117 (median +0.0006).
* dropout "0.15: N=6, 0.7183" and "0.30: N=6, 0.7186" — N=5 each, 0.71848 and
  0.71872; "+0.0027 for 0.3 over 0.1" is +0.0028.
* blocks "4: N=10, mean 0.7162; +0.0026 for 8 over 4" — 8 completed (10 with the
  two unfinished), mean 0.71579; 8 over 4 is +0.0030 by means, +0.0022 by
  matched pairs.
* d_model "256: N=25", LR "N=26" — 23 and 24 completed.
* "Total combinations: 25 planned (1 × 3 × 2 × 4 × 3)" — that product is 72, and
  d_model=512 never appears; the observed grid has 2×2×4×3 = 48 points.
* Improvement breakdown "d_ff 512 → 1536: +0.0014", "learning_rate 0.000174 →
  0.0001: -0.0028" — d_ff=512 was never run and the learning rate never
  varied, so neither number has any evidence.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kttui.analysis.coverage import coverage
from kttui.analysis.duplicates import find_duplicates
from kttui.analysis.elite import elite_analysis
from kttui.analysis.impact import param_impact
from kttui.analysis.seeds import seed_noise
from kttui.analysis.summary import summarize
from kttui.analysis.table import TrialFrame
from kttui.analysis.topn import baseline_diff, find_effect, matched_effects

FIXTURE = Path(__file__).parent / "fixtures" / "seed000_appendix.csv"
PARAMS = ["learning_rate", "d_model", "d_ff", "dropout", "num_encoder_blocks"]
BASELINE_CONFIG = {
    "learning_rate": 0.000174,
    "d_model": 256,
    "n_heads": 4,
    "d_ff": 512,
    "dropout": 0.2,
    "num_encoder_blocks": 4,
}


def seed000_table() -> TrialFrame:
    """Seed 000's appendix as kttui reads it (other tests report on the same table)."""
    df = pd.read_csv(FIXTURE)
    return TrialFrame.from_dataframe(
        df,
        params=PARAMS,
        value_column="test_auc",
        objective="test_auc",
        baseline=0.7181,
        target=0.73,
        name="gainakt4",
    )


@pytest.fixture(scope="module")
def table() -> TrialFrame:
    return seed000_table()


def test_states_and_overall_statistics(table: TrialFrame) -> None:
    s = summarize(table)
    assert s.n_total == 26
    assert s.counts["complete"] == 24
    assert s.counts["incomplete"] == 2  # exp 377051 and 553825 have no AUC
    assert s.best_value == pytest.approx(0.7193)
    assert s.min == pytest.approx(0.7021)
    assert s.range == pytest.approx(0.0172)  # the seed says 0.0171
    assert s.mean == pytest.approx(0.7176833, abs=1e-6)
    assert s.median == pytest.approx(0.7184)
    assert s.std == pytest.approx(0.0033713, abs=1e-6)  # sample std; the seed says 0.0032
    assert s.gap_to_target == pytest.approx(0.0107)


def test_counts_against_the_baseline(table: TrialFrame) -> None:
    vb = summarize(table).vs_baseline
    assert vb is not None
    # The seed: 15/26 better, 11/26 worse. The appendix: 14 better, 2 equal, 8 worse of 24.
    assert (vb.n_better, vb.n_equal, vb.n_worse, vb.n_compared) == (14, 2, 8, 24)
    assert vb.share_better == pytest.approx(14 / 24)


def _rows(table: TrialFrame, param: str) -> dict[str, tuple[int, int, float, float, float]]:
    imp = param_impact(table, param)
    return {r.label: (r.n, r.n_no_result, r.mean, r.best, r.worst) for r in imp.rows}


def test_impact_of_d_ff(table: TrialFrame) -> None:
    rows = _rows(table, "d_ff")
    assert rows["1024"][:2] == (13, 1)
    assert rows["1024"][2] == pytest.approx(9.3203 / 13)
    assert rows["1024"][3:] == pytest.approx((0.7189, 0.7021))
    assert rows["1536"][:2] == (11, 1)  # the seed says N=13
    assert rows["1536"][2] == pytest.approx(7.9041 / 11)
    assert rows["1536"][3:] == pytest.approx((0.7193, 0.7170))


def test_impact_of_dropout(table: TrialFrame) -> None:
    rows = _rows(table, "dropout")
    assert {k: v[:2] for k, v in rows.items()} == {
        "0.1": (8, 1),
        "0.15": (5, 1),
        "0.2": (6, 0),
        "0.3": (5, 0),
    }
    assert rows["0.1"][2] == pytest.approx(5.7274 / 8)
    assert rows["0.15"][2] == pytest.approx(3.5924 / 5)
    assert rows["0.2"][2] == pytest.approx(4.3110 / 6)
    assert rows["0.3"][2] == pytest.approx(3.5936 / 5)
    assert rows["0.3"][2] - rows["0.1"][2] == pytest.approx(0.002795)  # the seed says +0.0027


def test_impact_of_depth(table: TrialFrame) -> None:
    rows = _rows(table, "num_encoder_blocks")
    assert {k: v[:2] for k, v in rows.items()} == {"4": (8, 2), "6": (8, 0), "8": (8, 0)}
    assert rows["4"][2] == pytest.approx(5.7263 / 8)  # the seed says 0.7162 over N=10
    assert rows["6"][2] == pytest.approx(5.7481 / 8)
    assert rows["8"][2] == pytest.approx(5.75 / 8)


def test_impact_of_width_and_the_never_varied_learning_rate(table: TrialFrame) -> None:
    rows = _rows(table, "d_model")
    assert rows["256"][:2] == (23, 2)  # the seed says N=25
    assert rows["384"] == pytest.approx((1, 0, 0.7180, 0.7180, 0.7180))
    lr = param_impact(table, "learning_rate")
    assert not lr.varied
    assert lr.rows[0].n == 24  # the seed says N=26


def test_top_k_share(table: TrialFrame) -> None:
    imp = param_impact(table, "num_encoder_blocks", top_k=6)
    # Top 6 by AUC: blocks 8, 8, 8, 6, 8, 6.
    assert {r.label: r.top_count for r in imp.rows} == {"4": 0, "6": 2, "8": 4}


def test_coverage_finds_the_holes(table: TrialFrame) -> None:
    cov = coverage(table)
    assert [(n.param, n.value, n.n) for n in cov.never_varied] == [("learning_rate", 0.0001, 26)]
    assert [(r.param, r.value) for r in cov.tested_once] == [("d_model", 384.0)]
    assert cov.n_unique_configs == 24
    assert cov.grid_size == 48  # not "25 planned"
    pair = next(p for p in cov.pairs if {p.a, p.b} == {"d_model", "num_encoder_blocks"})
    assert (pair.n_tested, pair.n_possible) == (4, 6)
    gaps = {(g.param, g.lower, g.upper): g.candidates for g in cov.gaps}
    assert gaps[("dropout", 0.2, 0.3)] == [0.25]
    assert gaps[("num_encoder_blocks", 6.0, 8.0)] == [7.0]


def test_repeated_config_and_its_noise(table: TrialFrame) -> None:
    dup = find_duplicates(table)
    assert dup.n_wasted == 2
    assert dup.share_wasted == pytest.approx(2 / 26)
    (group,) = dup.groups
    assert group.numbers == [21, 23, 24]  # rows 22, 24 and 25 of the appendix
    assert group.spread == pytest.approx(0.015)
    noise = seed_noise(table)
    assert noise is not None and noise.source == "exact repeats"
    assert noise.noise_std == pytest.approx(0.0106066, abs=1e-6)  # sd of (0.7171, 0.7021)


def test_matched_effects(table: TrialFrame) -> None:
    effects = matched_effects(table)
    d_ff = find_effect(effects, "d_ff", 1024, 1536)
    assert d_ff is not None
    # 10 pairs with equal dropout and depth: +9, +7, +6, +5, +8, -2, +6, +6, -2 (x1e-4) and
    # +0.0074 against the mean of the repeated (0.7171, 0.7021) config.
    assert d_ff.n_pairs == 10
    assert d_ff.mean == pytest.approx(0.00117)
    assert d_ff.median == pytest.approx(0.0006)
    depth = find_effect(effects, "num_encoder_blocks", 8, 4)
    assert depth is not None and depth.n_pairs == 6
    assert depth.mean == pytest.approx(-0.0130 / 6)  # reversed: 8 -> 4


def test_improvement_breakdown_refuses_unsupported_claims(table: TrialFrame) -> None:
    diff = baseline_diff(table, BASELINE_CONFIG)
    assert diff is not None
    assert diff.delta == pytest.approx(0.0012)
    rows = {r.param: r for r in diff.breakdown}
    assert set(rows) == {"learning_rate", "d_ff", "num_encoder_blocks"}
    assert rows["learning_rate"].effect is None and "never varied" in rows["learning_rate"].reason
    assert rows["d_ff"].effect is None and "512 was never tested" in rows["d_ff"].reason
    depth = rows["num_encoder_blocks"].effect
    assert depth is not None
    assert depth.n_pairs == 6
    assert depth.mean == pytest.approx(0.0130 / 6)  # +2, +4, +5, +85, +15, +19 (x1e-4)
    assert depth.median == pytest.approx(0.0010)
    n_heads = next(c for c in diff.changes if c.param == "n_heads")
    assert n_heads.changed is None  # not a param of the sweep: unknown, not "same"


def test_elite_reading(table: TrialFrame) -> None:
    elite = elite_analysis(table)
    assert elite.n_elite == 6  # ceil(25 % of 24)
    assert elite.threshold == pytest.approx(0.7189)
    actions = {p.param: p.action for p in elite.params}
    assert actions == {
        "learning_rate": "keep",  # never varied: nothing to fix or narrow
        "d_model": "fix",  # 6/6 elites at 256 — but 23/24 of all trials were too, so not "expand"
        "d_ff": "expand",  # 5/6 elites at 1536 vs 11/24 of all trials
        "dropout": "keep",
        "num_encoder_blocks": "expand",  # 4/6 elites at 8 vs 8/24 of all trials
    }
    d_ff = elite.get("d_ff")
    assert d_ff is not None and d_ff.expand_high and not d_ff.expand_low
    assert d_ff.at_high_share == pytest.approx(5 / 6)
