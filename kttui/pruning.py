"""The pruner factory: one spec section -> one Optuna pruner."""

from __future__ import annotations

import optuna

from kttui.spec import Pruner


def make_pruner(cfg: Pruner) -> optuna.pruners.BasePruner:
    if cfg.type == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=cfg.n_startup_trials, n_warmup_steps=cfg.min_epochs
        )
    if cfg.type == "percentile":
        return optuna.pruners.PercentilePruner(
            cfg.percentile, n_startup_trials=cfg.n_startup_trials, n_warmup_steps=cfg.min_epochs
        )
    if cfg.type == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, cfg.min_epochs), reduction_factor=cfg.reduction_factor
        )
    if cfg.type == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=max(1, cfg.min_epochs),
            max_resource=cfg.max_epochs if cfg.max_epochs is not None else "auto",
            reduction_factor=cfg.reduction_factor,
        )
    return optuna.pruners.NopPruner()
