"""grid: every feasible point of a finite space once, in a seeded shuffled order.

Queued rather than done with Optuna's GridSampler, which would propose points
the constraints reject; shuffled so that a partial grid is a fair sample.
"""

from __future__ import annotations

import random

import optuna

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    s = spec.strategy
    points = list(space.feasible_points())
    # the order uses the spec's seed, not the resume-shifted one: it must not change
    random.Random(s.seed if s.seed is not None else 0).shuffle(points)
    budget = min(s.n_trials or len(points), len(points))
    return Plan(optuna.samplers.RandomSampler(seed=seed), budget, points[:budget])
