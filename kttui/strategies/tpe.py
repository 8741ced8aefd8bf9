"""tpe: multivariate, grouped TPE with the constant liar, so parallel workers spread out."""

from __future__ import annotations

import warnings

import optuna

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan


def tpe_sampler(
    n_trials: int, seed: int | None, startup: int | None = None
) -> optuna.samplers.TPESampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            group=True,
            constant_liar=True,
            n_startup_trials=startup if startup is not None else min(10, max(2, n_trials // 4)),
        )


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    s = spec.strategy
    assert s.n_trials is not None
    return Plan(tpe_sampler(s.n_trials, seed, s.initial), s.n_trials)
