"""What every strategy produces: a sampler, a budget and configs to run first.

A strategy is one small module with a ``plan(spec, space, seed)`` function
(as Optuna keeps one algorithm per sampler module). Queued configs run in
order before the sampler is asked; the runner never launches a config twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna

from kttui.space import SearchSpace, snap
from kttui.spec import BoolParam, CategoricalParam, FloatParam, IntParam


@dataclass
class Plan:
    sampler: optuna.samplers.BaseSampler
    budget: int
    queue: list[dict[str, Any]] = field(default_factory=list)


def unique(space: SearchSpace, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Configs in order, each once (a config listed twice still runs once)."""
    seen: dict[Any, dict[str, Any]] = {}
    for config in configs:
        seen.setdefault(space.canonical(config), dict(config))
    return list(seen.values())


def feasible(space: SearchSpace, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for config in configs:
        try:
            space.complete(config)
        except ValueError:
            continue
        out.append(config)
    return out


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
