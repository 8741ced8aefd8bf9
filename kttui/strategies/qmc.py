"""qmc / sobol: a scrambled Sobol sequence, for even coverage of the space early on."""

from __future__ import annotations

import optuna

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    s = spec.strategy
    assert s.n_trials is not None
    sampler = optuna.samplers.QMCSampler(
        qmc_type="sobol",
        scramble=True,
        seed=seed if seed is not None else 0,
        warn_asynchronous_seeding=False,
        warn_independent_sampling=False,
    )
    return Plan(sampler, s.n_trials)
