"""Search strategies, one module each; :func:`make_plan` imports only the one a spec names."""

from __future__ import annotations

import importlib

from kttui.space import SearchSpace
from kttui.spec import Spec
from kttui.strategies.base import Plan, suggest

#: spec name -> module in this package defining ``plan(spec, space, seed) -> Plan``
STRATEGIES: dict[str, str] = {
    "grid": "grid",
    "random": "random",
    "tpe": "tpe",
    "gp": "gp",
    "cmaes": "cmaes",
    "qmc": "qmc",
    "sobol": "qmc",
    "extremes+tpe": "extremes",
    "list": "listed",
    "ofat": "ofat",
}

__all__ = ["STRATEGIES", "Plan", "make_plan", "suggest"]


def make_plan(spec: Spec, space: SearchSpace, *, done: int = 0) -> Plan:
    """``done`` trials already in the study (a resumed sweep) shift the sampler's seed,
    so a restarted seeded sampler does not replay the proposals it made before."""
    s = spec.strategy
    seed = s.seed + done if s.seed is not None and done else s.seed
    module = importlib.import_module(f"{__name__}.{STRATEGIES[s.sampler]}")
    plan: Plan = module.plan(spec, space, seed)
    return plan
