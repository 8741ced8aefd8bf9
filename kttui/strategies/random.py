"""random: independent uniform (or log-uniform) draws, the honest baseline."""

from __future__ import annotations

import optuna

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    assert spec.strategy.n_trials is not None  # enforced by the spec checks
    return Plan(optuna.samplers.RandomSampler(seed=seed), spec.strategy.n_trials)
