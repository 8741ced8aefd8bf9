"""The one input every analysis takes: a table of trials plus what is known about the sweep.

Sessions, CSV files and Optuna studies all end up as a :class:`TrialFrame`, so
each analysis is written once against a plain DataFrame. When the declared
search space is unknown (an imported CSV), param kinds are inferred from the
observed values, which is what a person reading the table would do too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from kttui.analysis.values import (
    all_bool,
    all_integral,
    all_numeric,
    canonical,
    is_missing,
    is_number,
    plain,
    sorted_values,
)

State = Literal["complete", "pruned", "fail", "running", "incomplete"]
STATES: tuple[State, ...] = ("complete", "pruned", "fail", "running", "incomplete")
Kind = Literal["float", "int", "categorical", "bool"]
Direction = Literal["maximize", "minimize"]

METRIC_PREFIX = "metric:"
RESERVED_COLUMNS = (
    "number",
    "state",
    "value",
    "duration_s",
    "epochs",
    "budget",
    "seed",
    "label",
    "command",
)

_STATE_ALIASES: dict[str, State] = {
    "complete": "complete",
    "completed": "complete",
    "success": "complete",
    "succeeded": "complete",
    "done": "complete",
    "finished": "complete",
    "ok": "complete",
    "pruned": "pruned",
    "fail": "fail",
    "failed": "fail",
    "error": "fail",
    "crashed": "fail",
    "running": "running",
    "incomplete": "incomplete",
    "waiting": "incomplete",
    "queued": "incomplete",
    "pending": "incomplete",
    "killed": "incomplete",
    "stopped": "incomplete",
    "cancelled": "incomplete",
    "canceled": "incomplete",
}

#: A positive numeric param whose observed max/min ratio reaches this is read as
#: log-scaled (learning rates, weight decay); ints need a wider ratio because
#: widths and depths (32..512) are usually searched linearly.
LOG_RATIO_FLOAT = 20.0
LOG_RATIO_INT = 100.0


@dataclass(frozen=True)
class ParamInfo:
    """The declared search space of one param, when known."""

    name: str
    kind: Kind
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def numeric(self) -> bool:
        """Whether values have an order and a distance (categorical numbers included)."""
        if self.kind in ("float", "int"):
            return True
        if self.kind == "categorical" and self.choices:
            return all(is_number(c) for c in self.choices)
        return False

    @classmethod
    def from_spec(cls, name: str, entry: Mapping[str, Any]) -> ParamInfo:
        """Read one ``space:`` entry of a kttui spec (``{type: float, low: .., ...}``)."""
        kind = str(entry.get("type", "categorical"))
        if kind == "bool":
            return cls(name, "bool", choices=(False, True))
        if kind == "categorical":
            return cls(name, "categorical", choices=tuple(entry.get("choices") or ()))
        if kind not in ("float", "int"):
            raise ValueError(f"unknown param type {kind!r} for {name!r}")
        step = entry.get("step")
        return cls(
            name,
            "float" if kind == "float" else "int",
            low=float(entry["low"]),
            high=float(entry["high"]),
            log=bool(entry.get("log", False)),
            step=float(step) if step is not None else None,
        )


def space_from_spec(space: Mapping[str, Mapping[str, Any]]) -> dict[str, ParamInfo]:
    return {name: ParamInfo.from_spec(name, entry) for name, entry in space.items()}


def infer_param_info(name: str, values: Sequence[Any]) -> ParamInfo:
    """Guess a param's kind and range from what was tried.

    Bools stay bools, numbers are ordinal (int when every value is integral),
    anything else is categorical. Observed min/max stand in for the bounds.
    """
    present = [v for v in values if not is_missing(v)]
    distinct = sorted_values({canonical(v) for v in present})
    if all_bool(present):
        return ParamInfo(name, "bool", choices=(False, True))
    if all_numeric(present):
        low, high = float(min(distinct)), float(max(distinct))
        kind: Kind = "int" if all_integral(present) else "float"
        ratio_needed = LOG_RATIO_INT if kind == "int" else LOG_RATIO_FLOAT
        log = low > 0 and high / low >= ratio_needed
        return ParamInfo(name, kind, low=low, high=high, log=log)
    return ParamInfo(name, "categorical", choices=tuple(distinct))


def normalise_state(raw: Any, value: float) -> State:
    """Map the many spellings of a trial state (TrialState.COMPLETE, 'failed', ...) to ours."""
    if is_missing(raw):
        return "complete" if math.isfinite(value) else "incomplete"
    text = str(raw).strip().lower().rsplit(".", 1)[-1]
    return _STATE_ALIASES.get(text, "incomplete")


def _to_float(value: Any) -> float:
    if is_missing(value) or isinstance(value, bool | np.bool_):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@dataclass
class TrialFrame:
    """One row per trial and what the analyses need to know about the sweep.

    Columns: ``number``, ``state``, ``value`` (the objective; NaN when absent),
    ``duration_s``, ``epochs``, optional ``budget`` and ``seed``, one column per
    param named exactly as the param, and ``metric:<name>`` per extra final metric.
    """

    df: pd.DataFrame
    params: list[str]
    objective: str
    direction: Direction
    baseline: float | None = None
    target: float | None = None
    space: dict[str, ParamInfo] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    curves: dict[int, pd.DataFrame] | None = None
    name: str = ""

    # ----------------------------------------------------------------- build
    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        params: Sequence[str] | None = None,
        objective: str = "value",
        direction: Direction = "maximize",
        value_column: str | None = None,
        baseline: float | None = None,
        target: float | None = None,
        space: Mapping[str, ParamInfo] | None = None,
        fixed: Mapping[str, Any] | None = None,
        curves: Mapping[int, pd.DataFrame] | None = None,
        name: str = "",
    ) -> TrialFrame:
        """Normalise a loosely shaped frame: missing ``number``/``state`` are filled in.

        ``value_column`` names the objective column when it is not ``value``; it
        is then left out of the inferred params.
        """
        out = df.copy()
        if value_column is not None and value_column != "value":
            out["value"] = out[value_column]
        if "value" not in out.columns:
            out["value"] = math.nan
        out["value"] = [_to_float(v) for v in out["value"]]
        if "number" not in out.columns:
            out["number"] = range(len(out))
        out["number"] = out["number"].astype(int)
        raw_states = out["state"] if "state" in out.columns else [None] * len(out)
        out["state"] = [
            normalise_state(s, v) for s, v in zip(raw_states, out["value"], strict=True)
        ]
        for col in ("duration_s", "epochs"):
            out[col] = [_to_float(v) for v in out[col]] if col in out.columns else math.nan
        if params is None:
            skip = {*RESERVED_COLUMNS, value_column}
            params = [
                c for c in out.columns if c not in skip and not str(c).startswith(METRIC_PREFIX)
            ]
        out = out.reset_index(drop=True)
        return cls(
            df=out,
            params=list(params),
            objective=objective,
            direction=direction,
            baseline=baseline,
            target=target,
            space=dict(space or {}),
            fixed=dict(fixed or {}),
            curves=dict(curves) if curves is not None else None,
            name=name,
        )

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        params: Sequence[str] | None = None,
        objective: str = "value",
        direction: Direction = "maximize",
        baseline: float | None = None,
        target: float | None = None,
        space: Mapping[str, ParamInfo] | None = None,
        fixed: Mapping[str, Any] | None = None,
        curves: Mapping[int, pd.DataFrame] | None = None,
        name: str = "",
    ) -> TrialFrame:
        """Build from dicts, either flat or with nested ``params``/``metrics`` mappings."""
        rows: list[dict[str, Any]] = []
        nested_params: list[str] = []
        for record in records:
            row = {k: v for k, v in record.items() if k not in ("params", "metrics")}
            for key, val in (record.get("params") or {}).items():
                row[key] = val
                if key not in nested_params:
                    nested_params.append(key)
            for key, val in (record.get("metrics") or {}).items():
                row[f"{METRIC_PREFIX}{key}"] = val
            rows.append(row)
        if params is None and nested_params:
            params = nested_params
        df = pd.DataFrame(rows)
        if params is not None:
            for p in params:
                if p not in df.columns:
                    df[p] = None
        return cls.from_dataframe(
            df,
            params=params,
            objective=objective,
            direction=direction,
            baseline=baseline,
            target=target,
            space=space,
            fixed=fixed,
            curves=curves,
            name=name,
        )

    # ----------------------------------------------------------------- views
    @property
    def sign(self) -> float:
        """+1 when larger is better, -1 otherwise: multiply a value to get its 'goodness'."""
        return 1.0 if self.direction == "maximize" else -1.0

    @property
    def completed(self) -> pd.DataFrame:
        """Complete trials with a finite objective, the only ones statistics may use."""
        df = self.df
        mask = (df["state"] == "complete") & np.isfinite(df["value"].astype(float))
        return df.loc[mask]

    def ranked(self, df: pd.DataFrame | None = None) -> pd.DataFrame:
        """``df`` (default: completed trials) best first; ties keep trial order."""
        frame = self.completed if df is None else df
        return frame.sort_values(
            ["value", "number"], ascending=[self.direction == "minimize", True], kind="stable"
        )

    @property
    def metric_columns(self) -> list[str]:
        return [c for c in self.df.columns if str(c).startswith(METRIC_PREFIX)]

    def has_column(self, column: str) -> bool:
        """True when ``column`` exists and holds at least one value."""
        return column in self.df.columns and bool(self.df[column].notna().any())

    def info(self, param: str) -> ParamInfo:
        """The declared space of ``param``, else one inferred from all its observed values."""
        declared = self.space.get(param)
        if declared is not None:
            return declared
        cache: dict[str, ParamInfo] = self.__dict__.setdefault("_inferred", {})
        if param not in cache:
            values = list(self.df[param]) if param in self.df.columns else []
            cache[param] = infer_param_info(param, values)
        return cache[param]

    def is_numeric(self, param: str) -> bool:
        """Whether ``param`` has ordered numeric values (declared so, and observed so)."""
        cache: dict[str, bool] = self.__dict__.setdefault("_numeric", {})
        if param not in cache:
            present = [v for v in self.canonical_values(param) if v is not None]
            cache[param] = (
                param in self.df.columns and self.info(param).numeric and all_numeric(present)
            )
        return cache[param]

    def canonical_values(self, param: str, df: pd.DataFrame | None = None) -> list[Any]:
        """Canonical values of ``param`` for the rows of ``df`` (default: all), None if missing.

        Computed once per param and cached: every analysis compares configs, and
        normalising 10 000 values each time is what made reports slow.
        """
        cache: dict[str, list[Any]] = self.__dict__.setdefault("_canonical", {})
        if param not in cache:
            column = self.df[param] if param in self.df.columns else [None] * len(self.df)
            cache[param] = [canonical(v) for v in column]
        values = cache[param]
        if df is None or df is self.df:
            return values
        positions = self.df.index.get_indexer(df.index)
        return [values[i] for i in positions]

    def distinct(self, param: str, df: pd.DataFrame | None = None) -> list[Any]:
        """The distinct (canonical) values of ``param`` in ``df`` (default: all trials), sorted."""
        if df is None or df is self.df:
            cache: dict[str, list[Any]] = self.__dict__.setdefault("_distinct_cache", {})
            if param not in cache:
                cache[param] = self._distinct(self.canonical_values(param))
            return list(cache[param])
        return self._distinct(self.canonical_values(param, df))

    @staticmethod
    def _distinct(values: list[Any]) -> list[Any]:
        found = set(values)
        found.discard(None)
        return sorted_values(found)

    def config_keys(
        self, df: pd.DataFrame | None = None, params: Sequence[str] | None = None
    ) -> list[tuple[Any, ...]]:
        """One hashable key per row: the canonical values of ``params`` (default: all)."""
        frame = self.df if df is None else df
        names = list(self.params if params is None else params)
        columns = [self.canonical_values(p, frame) for p in names]
        return list(zip(*columns, strict=True)) if columns else [() for _ in range(len(frame))]

    def config_of(self, row: pd.Series) -> dict[str, Any]:
        """The params of one trial as builtin scalars (256, not 256.0 or numpy.int64)."""
        return {
            p: self.plain_value(p, row[p])
            for p in self.params
            if p in row.index and not is_missing(row[p])
        }

    def plain_value(self, param: str, value: Any) -> Any:
        """``value`` as a builtin scalar of the param's kind (for YAML, JSON and optuna)."""
        info = self.info(param)
        kind = info.kind
        if (
            kind == "categorical"
            and info.choices
            and all(
                isinstance(c, int | np.integer) and not isinstance(c, bool | np.bool_)
                for c in info.choices
            )
        ):
            kind = "int"
        return plain(value, kind)

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b`` in this study's direction."""
        return a > b if self.direction == "maximize" else a < b
