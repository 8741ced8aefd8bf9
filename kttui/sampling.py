"""The strategy factory: which Optuna sampler asks, how many trials, what is queued first.

Grid search is done by queueing the feasible points of the space (shuffled
with the seed, so a partial grid is a fair sample) rather than with Optuna's
GridSampler, which would propose points that the constraints reject.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna

from kttui.space import SearchSpace, snap
from kttui.spec import BoolParam, CategoricalParam, FloatParam, IntParam, Spec


@dataclass
class Plan:
    sampler: optuna.samplers.BaseSampler
    budget: int
    queue: list[dict[str, Any]] = field(default_factory=list)


def make_plan(spec: Spec, space: SearchSpace, *, done: int = 0) -> Plan:
    """``done`` trials already in the study (a resumed sweep) shift the sampler's seed,
    so a restarted seeded sampler does not replay the proposals it made before."""
    s = spec.strategy
    seed = s.seed + done if s.seed is not None and done else s.seed
    if s.sampler == "grid":
        points = list(space.feasible_points())
        random.Random(s.seed if s.seed is not None else 0).shuffle(points)
        budget = min(s.n_trials or len(points), len(points))
        return Plan(optuna.samplers.RandomSampler(seed=seed), budget, points[:budget])
    if s.sampler == "list":
        unique: dict[Any, dict[str, Any]] = {}
        for config in s.configs or []:  # a config listed twice still runs once
            unique.setdefault(space.canonical(config), dict(config))
        configs = list(unique.values())
        budget = min(s.n_trials or len(configs), len(configs))
        return Plan(optuna.samplers.RandomSampler(seed=seed), budget, configs[:budget])
    assert s.n_trials is not None  # enforced by the spec checks
    if s.sampler == "random":
        return Plan(optuna.samplers.RandomSampler(seed=seed), s.n_trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            constant_liar=True,
            n_startup_trials=min(10, max(2, s.n_trials // 4)),
        )
    return Plan(sampler, s.n_trials)


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Ask the trial for every param of the space (queued trials get their values)."""
    out: dict[str, Any] = {}
    for name, p in space.params.items():
        if isinstance(p, FloatParam):
            value = trial.suggest_float(name, p.low, p.high, log=p.log, step=p.step)
            # Optuna's stepped floats drift (0.35000000000000003); trials get 0.35.
            out[name] = snap(value, p.low, p.step) if p.step is not None else value
        elif isinstance(p, IntParam):
            out[name] = trial.suggest_int(name, p.low, p.high, log=p.log, step=p.step)
        elif isinstance(p, CategoricalParam):
            out[name] = trial.suggest_categorical(name, list(p.choices))
        elif isinstance(p, BoolParam):
            out[name] = trial.suggest_categorical(name, [False, True])
    return out
