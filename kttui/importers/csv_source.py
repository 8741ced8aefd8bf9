"""``kttui import csv``: a results table, one row per trial."""

from __future__ import annotations

import csv
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

_STATES = {"complete", "pruned", "fail", "running", "incomplete"}


def read_csv(
    path: Path,
    *,
    objective: str,
    direction: str = "maximize",
    params: list[str] | None = None,
    id_column: str | None = None,
    baseline: str | None = None,
) -> Imported:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            raw_rows = list(reader)
    except FileNotFoundError:
        raise ImportError_(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportError_(f"{path}: cannot read: {exc}") from None
    if not header:
        raise ImportError_(f"{path}: empty file (no header row)")
    seen: dict[str, int] = {}
    for i, name in enumerate(header, 1):  # DictReader would keep the last one silently
        if name in seen:
            raise ImportError_(
                f"{path}:1: column {name!r} appears twice (columns {seen[name]} and {i})"
            )
        seen[name] = i
    if not raw_rows:
        raise ImportError_(f"{path}: no rows below the header")
    for col in [objective, id_column, *(params or [])]:
        if col is not None and col not in header:
            raise ImportError_(f"{path}: no column {col!r} (columns: {', '.join(header)})")
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(raw_rows):
        line = i + 2  # the header is line 1
        if None in raw:
            raise ImportError_(f"{path}:{line}: more cells than header columns")
        row = {k: parse_scalar(v or "") for k, v in raw.items()}
        value = row[objective]
        if value is not None and (isinstance(value, bool | str)):
            raise ImportError_(
                f"{path}:{line}: column {objective!r}: {raw[objective]!r} is not a number"
            )
        rows.append(row)
    exclude = {objective, "state"} | ({id_column} if id_column else set())
    auto_params, metrics, fixed = split_columns(header, rows, exclude, constants_as_params=True)
    chosen = params if params is not None else auto_params
    if not chosen:
        raise ImportError_(f"{path}: no column varies, so there are no params to analyse")
    for name in chosen:
        _check_column_types(path, name, rows)
        bad = next((i for i, r in enumerate(rows) if is_nonfinite(r.get(name))), None)
        if bad is not None:
            raise ImportError_(
                f"{path}:{bad + 2}: column {name!r}: {raw_rows[bad][name]!r} is not a finite"
                " number (a param value cannot be NaN or infinite)"
            )
    if params is not None:
        metrics = [m for m in metrics if m not in params]
        fixed = {k: v for k, v in fixed.items() if k not in params}
    trials = []
    for i, row in enumerate(rows):
        value = row[objective]
        state = str(row.get("state") or "").lower()
        if state not in _STATES:
            state = "complete" if value is not None else "incomplete"
        if value is not None and not math.isfinite(float(value)):
            state, value = "fail", None
        trials.append(
            ImportedTrial(
                number=i,
                state=state,
                params={p: row[p] for p in chosen},
                value=float(value) if value is not None else None,
                metrics={m: float(row[m]) for m in metrics if _is_num(row.get(m))},
                label=str(row[id_column]) if id_column and row.get(id_column) is not None else None,
            )
        )
    imp = Imported(
        name=path.stem,
        source=str(path.resolve()),
        metric=objective,
        direction=direction,
        params=list(chosen),
        trials=trials,
        fixed=fixed,
    )
    if baseline is not None:
        _apply_baseline(path, imp, baseline)
    return imp


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_column_types(path: Path, name: str, rows: list[dict[str, Any]]) -> None:
    numeric = [i for i, r in enumerate(rows) if _is_num(r.get(name))]
    text = [i for i, r in enumerate(rows) if isinstance(r.get(name), str)]
    if numeric and text:
        i = text[0] if len(text) <= len(numeric) else numeric[0]
        raise ImportError_(
            f"{path}:{i + 2}: column {name!r} mixes numbers and text ({rows[i][name]!r})"
        )


def _apply_baseline(path: Path, imp: Imported, ref: str) -> None:
    for t in imp.trials:
        if t.label == ref:
            imp.baseline, imp.baseline_params = t.value, dict(t.params)
            return
    labelled = any(t.label is not None for t in imp.trials)
    if labelled and ref.strip().lstrip("-").isdigit():
        raise ImportError_(f"{path}: --baseline {ref!r}: no row has that id (and ids are integers)")
    try:
        imp.baseline = float(ref)
    except ValueError:
        raise ImportError_(f"{path}: --baseline {ref!r} is neither a row id nor a number") from None
