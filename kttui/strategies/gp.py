"""gp: Optuna's Gaussian-process sampler (it imports torch, so the runner needs kttui[kt])."""

from __future__ import annotations

import optuna

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    s = spec.strategy
    assert s.n_trials is not None
    startup = s.initial if s.initial is not None else min(10, max(2, s.n_trials // 4))
    sampler = optuna.samplers.GPSampler(
        seed=seed, n_startup_trials=startup, warn_independent_sampling=False
    )
    return Plan(sampler, s.n_trials)
