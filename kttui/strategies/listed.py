"""list: exactly the configs given (by hand, or by `kttui report --proposals`), in order."""

from __future__ import annotations

import optuna

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan, unique


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    s = spec.strategy
    configs = unique(space, [dict(c) for c in s.configs or []])
    budget = min(s.n_trials or len(configs), len(configs))
    return Plan(optuna.samplers.RandomSampler(seed=seed), budget, configs[:budget])
