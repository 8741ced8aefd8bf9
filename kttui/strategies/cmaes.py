"""cmaes: CMA-ES for numeric params (categoricals fall back to independent random draws)."""

from __future__ import annotations

import optuna

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    s = spec.strategy
    assert s.n_trials is not None
    sampler = optuna.samplers.CmaEsSampler(
        seed=seed,
        n_startup_trials=s.initial or 1,
        warn_independent_sampling=False,
        independent_sampler=optuna.samplers.RandomSampler(seed=seed),
    )
    return Plan(sampler, s.n_trials)
