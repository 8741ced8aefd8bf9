"""Sweeps with a known answer: the fixture the analysis tests check their findings against.

The objective depends strongly on ``a`` (peak at ``A_OPTIMUM``), weakly and
linearly on ``b``, not at all on ``c``, and is higher with ``flag=True``; a
grid-like ``width`` adds a mild preference for 128. An analysis that cannot
recover this from 150 noisy trials is wrong.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kttui.analysis.table import ParamInfo, TrialFrame

A_OPTIMUM = 0.7
SPACE = {
    "a": ParamInfo("a", "float", low=0.0, high=1.0),
    "b": ParamInfo("b", "float", low=0.0, high=1.0),
    "c": ParamInfo("c", "float", low=1e-4, high=1e-1, log=True),
    "flag": ParamInfo("flag", "bool", choices=(False, True)),
    "width": ParamInfo("width", "categorical", choices=(64, 128, 256)),
}


def objective(a: float, b: float, c: float, flag: bool, width: int) -> float:
    del c  # deliberately irrelevant
    return (
        0.40
        - 5.0 * (a - A_OPTIMUM) ** 2
        + 0.3 * b
        + 0.7 * float(flag)
        + (0.01 if width == 128 else 0.0)
    )


def synthetic_table(
    n: int = 150,
    *,
    seed: int = 0,
    noise: float = 0.01,
    direction: str = "maximize",
    pruned_share: float = 0.1,
    failed_share: float = 0.03,
    budgets: tuple[str, ...] = (),
    seeds_per_config: int = 1,
) -> TrialFrame:
    """``n`` random trials of the known objective (negated when ``direction='minimize'``)."""
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    number = 0
    while number < n:
        params: dict[str, Any] = {
            "a": float(rng.uniform(0, 1)),
            "b": float(rng.uniform(0, 1)),
            "c": float(10 ** rng.uniform(-4, -1)),
            "flag": bool(rng.integers(0, 2)),
            "width": int(rng.choice([64, 128, 256])),
        }
        for budget in budgets or (None,):
            for s in range(seeds_per_config):
                if number >= n:
                    break
                shift = 0.0 if budget is None else 0.01 * budgets.index(budget)
                value = objective(
                    params["a"], params["b"], params["c"], params["flag"], params["width"]
                )
                value += shift + float(rng.normal(0, noise))
                if direction == "minimize":
                    value = -value
                roll = rng.uniform()
                state = (
                    "fail"
                    if roll < failed_share
                    else "pruned"
                    if roll < failed_share + pruned_share
                    else "complete"
                )
                epochs = (
                    20.0
                    if state == "complete"
                    else float(rng.integers(1, 10))
                    if state == "pruned"
                    else 0.0
                )
                record: dict[str, Any] = {
                    "number": number,
                    "state": state,
                    "value": value
                    if state == "complete"
                    else (value if state == "pruned" else math.nan),
                    "duration_s": 3.0 * epochs + 1.0,
                    "epochs": epochs,
                    "params": params,
                    "metrics": {"val_acc": 0.5 + value / 4},
                }
                if budget is not None:
                    record["budget"] = budget
                if seeds_per_config > 1:
                    record["seed"] = s
                records.append(record)
                number += 1
    return TrialFrame.from_records(
        records,
        objective="score",
        direction="maximize" if direction == "maximize" else "minimize",
        baseline=0.70 if direction == "maximize" else -0.70,
        target=0.95 if direction == "maximize" else -0.95,
        space=SPACE,
        fixed={"epochs": 20},
        name="synthetic",
    )


def synthetic_spec(n_trials: int = 150) -> dict[str, Any]:
    """The spec the synthetic sweep "ran" with (plain dict, kttui spec format)."""
    return {
        "name": "synthetic",
        "objective": {"metric": "score", "direction": "maximize", "summary": "best"},
        "baseline": {"value": 0.70},
        "command": [
            "python",
            "train.py",
            "--a",
            "{a}",
            "--b",
            "{b}",
            "--c",
            "{c}",
            "--width",
            "{width}",
        ],
        "metrics": {"format": "jsonl"},
        "space": {
            "a": {"type": "float", "low": 0.0, "high": 1.0},
            "b": {"type": "float", "low": 0.0, "high": 1.0},
            "c": {"type": "float", "low": 1.0e-4, "high": 1.0e-1, "log": True},
            "flag": {"type": "bool"},
            "width": {"type": "categorical", "choices": [64, 128, 256]},
        },
        "fixed": {"epochs": 20},
        "strategy": {"sampler": "tpe", "n_trials": n_trials, "seed": 0},
        "pruner": {"type": "median", "min_epochs": 3},
        "resources": {
            "backend": "local",
            "gpus": "auto",
            "trials_per_gpu": 1,
            "timeout_min": 120,
            "retries": 0,
        },
    }
