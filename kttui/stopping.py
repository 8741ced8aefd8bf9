"""When to stop a sweep: a target, stagnation, or little room left for improvement.

The regret rule follows Optuna's Terminator (Makarova et al., 2022): fit a
Gaussian process to the completed trials (all of them: a GP fitted to the best
half alone has no idea the rest of the space is worse); the gap between
the highest upper confidence bound anywhere in the space and the highest lower
confidence bound among the tried configs bounds how much better any config
could be. When that bound falls below ``stop_when.regret_below`` (a number
the user sets, in the objective's units), the sweep stops: more trials are
unlikely to gain more than that. scikit-learn's GP is used (Optuna's needs torch,
which kttui's own processes never import).
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Sequence
from typing import Any

from kttui.space import SearchSpace
from kttui.spec import BoolParam, CategoricalParam, FloatParam, IntParam

BETA = 2.0
CANDIDATES = 2000


def _encode(space: SearchSpace, config: dict[str, Any]) -> list[float]:
    row: list[float] = []
    for name, p in space.params.items():
        v = config[name]
        if isinstance(p, BoolParam):
            row.append(1.0 if v else 0.0)
        elif isinstance(p, CategoricalParam):
            row += [1.0 if v == c else 0.0 for c in p.choices]
        elif isinstance(p, FloatParam | IntParam):
            lo, hi, x = float(p.low), float(p.high), float(v)
            if p.log:
                lo, hi, x = math.log(lo), math.log(hi), math.log(x)
            row.append((x - lo) / (hi - lo) if hi > lo else 0.0)
    return row


def _random_config(space: SearchSpace, rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, p in space.params.items():
        if isinstance(p, BoolParam):
            out[name] = rng.random() < 0.5
        elif isinstance(p, CategoricalParam):
            out[name] = rng.choice(p.choices)
        elif isinstance(p, FloatParam | IntParam):
            if p.log:
                out[name] = math.exp(rng.uniform(math.log(p.low), math.log(p.high)))
            else:
                out[name] = rng.uniform(p.low, p.high)
    return out


def regret_bound(
    space: SearchSpace,
    configs: Sequence[dict[str, Any]],
    values: Sequence[float],
    *,
    maximize: bool,
    top_ratio: float = 1.0,
    seed: int = 0,
) -> float:
    """An upper bound (in objective units) on how much the best value could still improve."""
    import numpy as np
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    y = np.array(values, dtype=float) * (1.0 if maximize else -1.0)
    order = np.argsort(-y)
    keep = order[: max(5, int(len(y) * top_ratio))]
    x = np.array([_encode(space, configs[i]) for i in keep])
    mean, scale = float(y[keep].mean()), float(y[keep].std()) or 1.0
    y_top = (y[keep] - mean) / scale
    kernel = ConstantKernel(1.0) * Matern(nu=2.5, length_scale=np.ones(x.shape[1])) + WhiteKernel(
        1e-3
    )
    gp = GaussianProcessRegressor(kernel=kernel, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # length-scale bounds on tiny or flat data
        gp.fit(x, y_top)
    noise = float(gp.kernel_.k2.noise_level)
    rng = random.Random(seed)
    cand = np.array([_encode(space, _random_config(space, rng)) for _ in range(CANDIDATES)])
    cand = np.vstack([cand, x])

    def bounds(points: Any) -> tuple[Any, Any]:
        mu, sd = gp.predict(points, return_std=True)
        # the bound is about the function, not about noisy observations of it
        sd_f = np.sqrt(np.maximum(sd**2 - noise, 0.0))
        return mu, sd_f

    mu_c, sd_c = bounds(cand)
    mu_o, sd_o = bounds(x)
    return float(np.max(mu_c + BETA * sd_c) - np.max(mu_o - BETA * sd_o)) * scale
