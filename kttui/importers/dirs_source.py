"""``kttui import dirs``: one experiment folder per trial (config.json, eval_results.json,
training_log.csv), as hand-run sweeps leave them (seed 000's layout)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from kttui.importers import (
    Imported,
    ImportedTrial,
    ImportError_,
    is_nonfinite,
    parse_scalar,
    split_columns,
)


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:
        raise ImportError_(f"{path}: invalid JSON: {exc}") from None
    except RecursionError:
        raise ImportError_(f"{path}: invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ImportError_(f"{path}: expected a JSON object")
    try:
        return _flat(data)
    except RecursionError:
        raise ImportError_(f"{path}: nested too deeply") from None


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        elif isinstance(value, bool | int | float | str) or value is None:
            out[name] = value
        else:
            out[name] = json.dumps(value)
    return out


def _curve(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportError_(f"{path}: cannot read: {exc}") from None
    curve = []
    for i, raw in enumerate(rows):
        row = {k: parse_scalar(v or "") for k, v in raw.items() if k}
        nums = {k: float(v) for k, v in row.items() if isinstance(v, int | float)}
        nums.setdefault("epoch", float(i + 1))
        if not math.isfinite(nums["epoch"]):
            raise ImportError_(f"{path}:{i + 2}: epoch {raw.get('epoch')!r} is not a number")
        nums["epoch"] = int(nums["epoch"])
        curve.append(nums)
    return curve


def read_dirs(root: Path, *, objective: str = "test_auc", direction: str = "maximize") -> Imported:
    if not root.is_dir():
        raise ImportError_(f"{root}: not a directory")
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError as exc:
        raise ImportError_(f"{root}: cannot list: {exc.strerror}") from None
    exps = [f for f in folders if (f / "config.json").is_file()]
    if not exps:
        raise ImportError_(f"{root}: no experiment folders (sub-folders with config.json)")
    configs, results = [], []
    for folder in exps:
        configs.append(_json(folder / "config.json"))
        ev = folder / "eval_results.json"
        results.append(_json(ev) if ev.is_file() else None)
    names = list(dict.fromkeys(k for c in configs for k in c))
    columns = {name: [c.get(name) for c in configs] for name in names}
    params, _, fixed = split_columns(columns, exclude=set())
    if not params:
        raise ImportError_(f"{root}: no config key varies across the experiments")
    for folder, config in zip(exps, configs, strict=True):
        for name in params:
            if is_nonfinite(config.get(name)):
                raise ImportError_(
                    f"{folder / 'config.json'}: {name!r} is {config[name]} (a param value"
                    " cannot be NaN or infinite)"
                )
    trials = []
    for i, (folder, config, result) in enumerate(zip(exps, configs, results, strict=True)):
        value = None
        if result is not None:
            raw = result.get(objective)
            if raw is not None and not isinstance(raw, int | float):
                raise ImportError_(
                    f"{folder / 'eval_results.json'}: {objective!r} is not a number: {raw!r}"
                )
            value = float(raw) if raw is not None else None
        metrics = {
            k: float(v)
            for k, v in (result or {}).items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != objective
        }
        trials.append(
            ImportedTrial(
                number=i,
                state="complete" if value is not None else "incomplete",
                params={p: config.get(p) for p in params},
                value=value,
                metrics=metrics,
                curve=_curve(folder / "training_log.csv"),
                label=folder.name,
            )
        )
    return Imported(
        name=root.name,
        source=str(root.resolve()),
        metric=objective,
        direction=direction,
        params=params,
        trials=trials,
        fixed=fixed,
    )
