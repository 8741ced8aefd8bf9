"""What a recommendation starts from: the space the sweep ran with, or a skeleton spec.

Both the refined specs and the proposals spec are edits of the sweep's own spec;
an imported sweep has none, so a skeleton with a placeholder command stands in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kttui.analysis.impact import MAX_LEVELS
from kttui.analysis.table import ParamInfo, TrialFrame
from kttui.analysis.values import is_number


def entry_from_info(info: ParamInfo) -> dict[str, Any]:
    """A spec ``space`` entry for a declared or inferred param."""
    if info.kind == "bool":
        return {"type": "bool"}
    if info.kind == "categorical":
        return {"type": "categorical", "choices": [spec_scalar(c) for c in info.choices or ()]}
    entry: dict[str, Any] = {"type": info.kind, "low": info.low, "high": info.high}
    if info.kind == "int":
        entry["low"], entry["high"] = int(info.low or 0), int(info.high or 0)
    if info.log:
        entry["log"] = True
    if info.step is not None and not info.log:
        entry["step"] = int(info.step) if info.kind == "int" else info.step
    return entry


def spec_scalar(value: Any) -> Any:
    """A value a spec can hold where it takes a scalar (``fixed``, ``choices``).

    Unlike :func:`kttui.analysis.values.plain`, anything that is not a number,
    bool, string or None becomes its text, so the spec still validates.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if is_number(value):
        x = float(value)
        return int(x) if x.is_integer() and not isinstance(value, float) else x
    return str(value)


def base_space(table: TrialFrame, base_spec: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The space the sweep ran with: the base spec's, else the table's, else inferred.

    An inferred numeric param with a handful of values (a grid sweep) becomes a
    categorical of those values, which is what the researcher actually searched.
    """
    declared = dict((base_spec or {}).get("space") or {})
    out: dict[str, dict[str, Any]] = {}
    for p in table.params:
        if p in declared:
            out[p] = dict(declared[p])
        elif p in table.space:
            out[p] = entry_from_info(table.space[p])
        else:
            info = table.info(p)
            values = table.distinct(p)
            if info.kind in ("int", "float") and len(values) <= MAX_LEVELS:
                out[p] = {
                    "type": "categorical",
                    "choices": [table.plain_value(p, v) for v in values],
                }
            else:
                out[p] = entry_from_info(info)
    for p, entry in declared.items():
        out.setdefault(p, dict(entry))
    return out


def spec_name(base: Mapping[str, Any], table: TrialFrame) -> str:
    """The base name for generated specs, made a valid spec name."""
    raw = str(base.get("name") or table.name or "sweep")
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-._") or "sweep"
    return clean if clean[0].isalnum() else f"s{clean}"


def skeleton(table: TrialFrame) -> dict[str, Any]:
    """A spec to refine when none was given: the command is a placeholder to edit."""
    spec: dict[str, Any] = {
        "name": spec_name({}, table),
        "objective": {
            "metric": table.objective or "value",
            "direction": table.direction,
            "summary": "best",
        },
    }
    if table.baseline is not None:
        spec["baseline"] = {"value": table.baseline}
    if table.target is not None:
        spec["target"] = table.target
    command = ["python", "train.py"]
    for p in table.params:
        command += [f"--{p}", f"{{{p}}}"]
    spec["command"] = command
    spec["fixed"] = {k: spec_scalar(v) for k, v in table.fixed.items()}
    spec["strategy"] = {"sampler": "tpe", "n_trials": max(20, len(table.df)), "seed": 0}
    return spec
