"""The trainer's parameters: defaults, aliases, and merging argv over ``$KTTUI_PARAMS``.

Lives apart from the trainer (and without torch) so a bad parameter is reported
in one line before any heavy import, and so the sweep side can validate a
parameter set without starting a trial.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, NoReturn

from kttui.trial import PARAMS_ENV

MODELS = ("dkt", "sakt")

#: other names a sweep may use for a parameter (pykt's names, common short forms)
ALIASES: dict[str, str] = {
    "emb_size": "d_model",
    "hidden_size": "d_model",
    "n_blocks": "n_layers",
    "num_layers": "n_layers",
    "num_attn_heads": "n_heads",
    "dropout_rate": "dropout",
    "lr": "learning_rate",
    "num_epochs": "epochs",
}


class ConfigError(ValueError):
    """A parameter problem the user can fix; reported in one line, exit status 2."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; one field per CLI flag / JSON key."""

    model: str = "dkt"
    d_model: int = 64
    n_layers: int = 1
    n_heads: int = 4
    d_ff: int = 256
    dropout: float = 0.1
    learning_rate: float = 1e-3
    batch_size: int = 64
    seq_len: int = 50
    weight_decay: float = 0.0
    epochs: int = 20
    patience: int = 3  # epochs without a val AUC gain before stopping; 0 = never stop
    seed: int = 0  # data split, init and batch order
    data: str = "synthetic"  # or the path of a pykt train_valid_sequences.csv
    fold: int = 0  # pykt fold used for validation
    test_data: str | None = None  # pykt test_sequences.csv; else hold out train students
    n_students: int = 2000
    n_skills: int = 12
    n_questions: int = 120
    data_seed: int = 0  # synthetic population; separate from seed so trials share it
    data_cache: str | None = None  # default: $KTTUI_DATA_CACHE, else ~/.cache/kttui/kt
    out: str | None = None  # default: $KTTUI_TRIAL_DIR, else the working directory

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = {f.name: f for f in fields(TrainConfig)}
_INT = {n for n, f in _FIELDS.items() if f.type == "int"}
_FLOAT = {n for n, f in _FIELDS.items() if f.type == "float"}
_OPTIONAL = {n for n, f in _FIELDS.items() if "None" in str(f.type)}


def _coerce(name: str, value: Any) -> Any:
    """Convert a JSON or argv value to the field's type, or raise ConfigError.

    Sweep samplers hand out floats like ``64.0`` for integer parameters and CLI
    values arrive as strings, so both are accepted when they are exact.
    """
    if value is None and name in _OPTIONAL:
        return None
    if name in _INT:
        if isinstance(value, bool):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be an integer, got {value!r}") from None
        if not number.is_integer():
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        return int(number)
    if name in _FLOAT:
        if isinstance(value, bool):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{name} must be finite, got {value!r}")
        return number
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {value!r}")
    return value.lower() if name == "model" else value


def _canonical(key: str) -> str:
    key = key.strip().replace("-", "_")
    return ALIASES.get(key, key)


def _read_params_file(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read ${PARAMS_ENV} file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"${PARAMS_ENV} file {path} is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"${PARAMS_ENV} file {path} must hold a JSON object")
    return data


def _from_mapping(raw: Mapping[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Typed known parameters of ``raw``; unknown keys only warn, because a sweep
    file may carry parameters meant for other tools (tags, notes, search hints)."""
    spelled = {key: key.strip().replace("-", "_") for key in raw}
    explicit = {name for name in spelled.values() if name in _FIELDS}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = _canonical(key)
        if name not in _FIELDS:
            warnings.append(f"ignoring unknown parameter {key!r} in ${PARAMS_ENV}")
        elif spelled[key] == name or name not in explicit:  # a canonical name beats its alias
            out[name] = _coerce(name, value)
    return out


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage, so errors stay one line."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _argv_parser() -> _Parser:
    ap = _Parser(
        prog="python -m kttui.kt.train",
        description="Train a knowledge-tracing model (DKT or SAKT) and report metrics to kttui.",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    by_target: dict[str, list[str]] = {}
    for alias, target in ALIASES.items():
        by_target.setdefault(target, []).append(alias)
    for name, f in _FIELDS.items():
        spellings = [name, *by_target.get(name, [])]
        # canonical spelling first: argparse shows it in the usage line
        flags = list(dict.fromkeys(f"--{v}" for s in spellings for v in (s, s.replace("_", "-"))))
        ap.add_argument(*flags, dest=name, metavar=name.upper(), help=f"default: {f.default}")
    return ap


def parse_config(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[TrainConfig, list[str]]:
    """Merge defaults < ``$KTTUI_PARAMS`` file < argv; return the config and warnings."""
    env = os.environ if environ is None else environ
    warnings: list[str] = []
    merged: dict[str, Any] = {}
    params_path = env.get(PARAMS_ENV)
    if params_path:
        merged.update(_from_mapping(_read_params_file(params_path), warnings))
    args = vars(_argv_parser().parse_args(argv))
    merged.update({k: _coerce(k, v) for k, v in args.items()})
    cfg = TrainConfig(**merged)
    validate(cfg)
    return cfg, warnings


def validate(cfg: TrainConfig) -> None:
    """Reject parameter sets that cannot train, with a message naming the parameter."""
    if cfg.model not in MODELS:
        raise ConfigError(f"unknown model {cfg.model!r} (known: {', '.join(MODELS)})")
    positive = ("d_model", "n_layers", "n_heads", "d_ff", "batch_size", "epochs")
    for name in positive:
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {cfg.dropout}")
    if cfg.learning_rate <= 0:
        raise ConfigError(f"learning_rate must be > 0, got {cfg.learning_rate}")
    if cfg.weight_decay < 0:
        raise ConfigError(f"weight_decay must be >= 0, got {cfg.weight_decay}")
    if cfg.seq_len < 2:
        raise ConfigError(f"seq_len must be >= 2, got {cfg.seq_len}")
    if cfg.patience < 0:
        raise ConfigError(f"patience must be >= 0, got {cfg.patience}")
    if cfg.model == "sakt" and cfg.d_model % cfg.n_heads:
        raise ConfigError(
            f"sakt needs d_model divisible by n_heads, got d_model={cfg.d_model}, "
            f"n_heads={cfg.n_heads}"
        )
    if cfg.data == "synthetic":
        if cfg.n_students < 10:
            raise ConfigError(f"n_students must be >= 10, got {cfg.n_students}")
        if cfg.n_skills < 1 or cfg.n_questions < cfg.n_skills:
            raise ConfigError("synthetic data needs n_skills >= 1 and n_questions >= n_skills")
