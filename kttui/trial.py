"""Helpers for code running *inside* a trial process.

A trial reports per-epoch metrics by appending JSON lines to the file named by
``$KTTUI_METRICS``; the runner tails that file. This module has no dependency
beyond the standard library so that any training script can import it cheaply.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

METRICS_ENV = "KTTUI_METRICS"
PARAMS_ENV = "KTTUI_PARAMS"


def _clean(value: Any) -> Any:
    """Make ``value`` JSON-safe: numpy/torch scalars become floats, NaN stays NaN."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        return _clean(item())
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _write(record: dict[str, Any], path: str | os.PathLike[str] | None) -> None:
    target = path if path is not None else os.environ.get(METRICS_ENV)
    line = json.dumps(record, allow_nan=True)
    if target:
        # One write per line with O_APPEND keeps lines whole even if the
        # runner reads concurrently; flushing per line is what makes metrics live.
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    else:
        print(line, flush=True)


def report(epoch: int, path: str | os.PathLike[str] | None = None, **metrics: Any) -> None:
    """Record the metrics of one finished epoch (epochs count from 1)."""
    record: dict[str, Any] = {"epoch": int(epoch)}
    record.update({k: _clean(v) for k, v in metrics.items()})
    _write(record, path)


def report_final(path: str | os.PathLike[str] | None = None, **metrics: Any) -> None:
    """Record final metrics (e.g. test AUC); they win over per-epoch values."""
    _write({"final": {k: _clean(v) for k, v in metrics.items()}}, path)


def params() -> dict[str, Any]:
    """Return the trial's parameters from ``$KTTUI_PARAMS`` (empty outside kttui)."""
    path = os.environ.get(PARAMS_ENV)
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return dict(data)


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
