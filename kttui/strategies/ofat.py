"""ofat: one factor at a time around a base config (seed 001's trial sets).

The base is ``strategy.base`` (else the baseline's params, else the centre of
the space); each param is stepped through ``strategy.values[param]`` (else its
levels) with every other param held at the base.
"""

from __future__ import annotations

from typing import Any

import optuna

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan, feasible, unique
from kttui.strategies.points import center, levels


def ofat_configs(spec: Spec, space: SearchSpace) -> list[dict[str, Any]]:
    s = spec.strategy
    given = dict(s.base or {})
    if not given and spec.baseline and spec.baseline.params:
        given = {k: v for k, v in spec.baseline.params.items() if k in space.params}
    base = center(space, given)
    configs = [base]
    for name in space.params:
        values = (s.values or {}).get(name) or levels(space, name)
        configs += [{**base, name: v} for v in values]
    return unique(space, feasible(space, configs))


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    configs = ofat_configs(spec, space)
    budget = min(spec.strategy.n_trials or len(configs), len(configs))
    return Plan(optuna.samplers.RandomSampler(seed=seed), budget, configs[:budget])
