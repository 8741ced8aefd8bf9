"""extremes+tpe: force coverage first, then let TPE exploit.

Pure TPE collapses early on its first good region and never tries the edges
(seed 002: "no forced extreme trials"). The first phase runs each param's
minimum and maximum (every value of a categorical) around the centre of the
space, plus the all-low and all-high corners; then TPE takes over with those
results as its start-up set. ``strategy.initial`` caps the first phase.
"""

from __future__ import annotations

from typing import Any

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan, feasible, unique
from kttui.strategies.points import center, extremes
from kttui.strategies.tpe import tpe_sampler


def forced_points(space: SearchSpace, base: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    mid = center(space, base)
    points: list[dict[str, Any]] = [mid]
    per_param = {name: extremes(space, name) for name in space.params}
    # round-robin over params so that a short first phase still touches every param
    depth = max(len(v) for v in per_param.values())
    for i in range(depth):
        for name, values in per_param.items():
            if i < len(values):
                points.append({**mid, name: values[i]})
    points.append({n: v[0] for n, v in per_param.items()})
    points.append({n: v[-1] for n, v in per_param.items()})
    return unique(space, feasible(space, points))


def plan(spec: Spec, space: SearchSpace, seed: int | None) -> Plan:
    s = spec.strategy
    assert s.n_trials is not None
    base = dict(spec.baseline.params) if spec.baseline and spec.baseline.params else None
    points = forced_points(space, base)
    phase = min(len(points), s.initial if s.initial is not None else len(points), s.n_trials)
    return Plan(tpe_sampler(s.n_trials, seed, startup=phase), s.n_trials, points[:phase])
