"""Successive-halving bookkeeping over budget tiers, without a study or a process."""

from __future__ import annotations

from kttui.runner.tiers import Promotions
from kttui.spec import Budgets

BUDGETS = Budgets(param="epochs", tiers=[5, 20, 40], promote=0.5)


def test_the_best_half_of_a_tier_is_promoted_once_each() -> None:
    tiers = Promotions(BUDGETS, maximize=True)
    assert tiers.add(0, {"x": 0}, 0, 0.5) == []  # one result: a quota of 0
    assert tiers.add(1, {"x": 1}, 0, 0.7) == [(1, {"x": 1})]  # two: the better one
    assert tiers.add(2, {"x": 2}, 0, 0.9) == []  # three: quota still 1, already used
    assert tiers.add(3, {"x": 3}, 0, 0.1) == [(2, {"x": 2})]  # four: the best not yet promoted


def test_minimizing_promotes_the_lowest_and_the_last_tier_promotes_nothing() -> None:
    tiers = Promotions(BUDGETS, maximize=False)
    tiers.add(0, {}, 0, 0.5)
    assert tiers.add(1, {}, 0, 0.2) == [(1, {})]
    assert tiers.add(7, {}, 2, 0.1) == [] and 2 not in tiers.results
    assert Promotions(None, maximize=True).add(0, {}, 0, 1.0) == []


def test_a_resumed_runner_promotes_nothing_twice() -> None:
    tiers = Promotions(BUDGETS, maximize=True)
    tiers.load(0, {"x": 0}, 0, None, 0.5)
    tiers.load(1, {"x": 1}, 0, None, 0.7)
    tiers.load(2, {"x": 1}, 1, 1, None)  # trial 1's promotion, still running
    tiers.load(3, {"x": 3}, None, None, 0.9)  # not a tiered run
    assert tiers.promoted == {0: {1}} and len(tiers.results[0]) == 2
    assert tiers.add(4, {"x": 4}, 0, 0.6) == []  # three results: quota 1, used by trial 1


def test_an_infinite_or_nan_result_is_never_promoted() -> None:
    tiers = Promotions(BUDGETS, maximize=True)
    tiers.add(0, {"x": 0}, 0, float("inf"))  # Optuna stores inf for a COMPLETE trial
    assert tiers.add(1, {"x": 1}, 0, float("nan")) == []  # quota 1, but nothing finite
    assert tiers.add(2, {"x": 2}, 0, 0.3) == [(2, {"x": 2})]
