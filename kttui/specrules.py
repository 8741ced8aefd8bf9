"""The spec's cross-field rules: names, placeholders, ranges, metrics and strategy.

Each rule yields ``(location, message)``; :mod:`kttui.specload` turns the
location into the line a user has to fix. Per-field rules live on the models
(:mod:`kttui.spec`); these involve several fields at once.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import Any

from kttui.metricparse import PYKT_METRICS
from kttui.pyktlines import PYKT_TEST
from kttui.space import MAX_ENUMERATION, SearchSpace, grid_top
from kttui.spec import (
    BUILTIN_PLACEHOLDERS,
    NAME_RE,
    BoolParam,
    CategoricalParam,
    FloatParam,
    IntParam,
    Spec,
)

PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
Loc = tuple[str | int, ...]


def cross_check(spec: Spec) -> Iterable[tuple[Loc, str]]:
    """Rules that involve several fields; each yields (location, message)."""
    seen: dict[str, str] = {}
    for section in ("space", "fixed", "derived"):
        for name in getattr(spec, section):
            if not re.match(NAME_RE, name):
                yield (section, name), "names must be identifiers (letters, digits, _)"
            if name in BUILTIN_PLACEHOLDERS:
                yield (section, name), f"{name!r} is reserved for the command placeholder"
            if name in seen:
                yield (section, name), f"{name!r} is also defined in {seen[name]}"
            seen[name] = section
    yield from _check_ranges(spec)
    yield from _check_command(spec)
    yield from _check_metrics(spec)
    yield from _check_strategy(spec)
    # params the runner adds itself: a run's seed, a run's budget
    for section, extra in (("repeats", spec.repeats), ("budgets", spec.budgets)):
        if extra is None:
            continue
        if extra.param in seen:
            yield (section, "param"), f"{extra.param!r} is already defined in {seen[extra.param]}"
        elif not re.match(NAME_RE, extra.param):
            yield (section, "param"), "names must be identifiers (letters, digits, _)"
    if spec.budgets is not None and spec.repeats is not None:
        yield ("budgets",), "budgets and repeats cannot be combined yet"
    r = spec.resources
    if r.slurm is not None and r.backend != "slurm":
        yield ("resources", "slurm"), "slurm options are only used with backend: slurm"
    if r.backend == "slurm" and r.trials_per_gpu > 1:
        yield ("resources", "trials_per_gpu"), "SLURM gives each job its own GPUs"
    if r.trials_per_gpu > 1 and r.gpus_per_trial > 1:
        yield (
            ("resources", "gpus_per_trial"),
            "use trials_per_gpu > 1 or gpus_per_trial > 1, not both",
        )
    if spec.baseline is not None:
        if spec.baseline.value is None and spec.baseline.params is None:
            yield ("baseline",), "give a `value`, `params`, or both"
        for name in spec.baseline.params or {}:
            if name not in seen:
                yield ("baseline", "params", name), f"{name!r} is not a param of this spec"
    if spec.storage is not None and not re.match(
        r"^(sqlite|postgresql|postgres|mysql)", spec.storage
    ):
        yield ("storage",), "expected an Optuna storage URL (sqlite:///..., postgresql://...)"


def _check_ranges(spec: Spec) -> Iterable[tuple[Loc, str]]:
    for name, p in spec.space.items():
        if isinstance(p, FloatParam | IntParam):
            if not (math.isfinite(p.low) and math.isfinite(p.high)):
                yield ("space", name, "low"), "low and high must be finite"
                continue
            if p.low >= p.high:
                yield ("space", name, "high"), f"high ({p.high}) must be greater than low ({p.low})"
                continue
            if p.log and p.low <= 0:
                yield ("space", name, "low"), "a log range needs low > 0"
        if isinstance(p, FloatParam) and p.step is not None:
            if p.log:
                yield ("space", name, "step"), "log and step cannot be combined"
            elif p.step < 4 * math.ulp(max(abs(p.low), abs(p.high))):
                yield (
                    ("space", name, "step"),
                    f"step {p.step} is finer than floats can tell apart in [{p.low}, {p.high}]",
                )
            elif p.low < p.high and abs(grid_top(p.low, p.high, p.step) - p.high) > 1e-9 * max(
                1.0, abs(p.high)
            ):
                yield (
                    ("space", name, "step"),
                    f"step {p.step} does not divide high - low ({p.high} - {p.low})",
                )
        if isinstance(p, IntParam):
            if p.log and p.step != 1:
                yield ("space", name, "step"), "log and step cannot be combined"
            elif p.low < p.high and (p.high - p.low) % p.step:
                yield ("space", name, "step"), f"step {p.step} does not divide high - low"
        if isinstance(p, CategoricalParam) and len({type(c) for c in p.choices} - {int, float}) > 1:
            yield ("space", name, "choices"), "choices mix types (e.g. numbers and strings)"


def _check_command(spec: Spec) -> Iterable[tuple[Loc, str]]:
    known = set(spec.all_names) | set(BUILTIN_PLACEHOLDERS)
    argvs: list[tuple[Loc, list[str]]] = [(("command",), spec.command)]
    argvs += [(("evaluate", j), argv) for j, argv in enumerate(spec.evaluate)]
    for where, argv in argvs:
        if not argv or not argv[0].strip():
            yield where, "the program (first element) is empty"
        for i, arg in enumerate(argv):
            for match in PLACEHOLDER_RE.finditer(arg.replace("{{", "").replace("}}", "")):
                if match.group(1) not in known:
                    close = difflib.get_close_matches(match.group(1), sorted(known), n=1)
                    hint = f" (did you mean {{{close[0]}}}?)" if close else ""
                    yield (*where, i), f"unknown placeholder {{{match.group(1)}}}{hint}"


def check_config(
    spec: Spec, config: dict[str, Any], loc: Loc = (), *, complete: bool = True
) -> Iterable[tuple[Loc, str]]:
    """A listed config must give every param of the space a value the space allows."""
    missing = [name for name in spec.space if name not in config]
    if missing and complete:
        yield loc, f"missing value(s) for {', '.join(missing)}"
    for name, value in config.items():
        p = spec.space.get(name)
        if p is None:
            yield (*loc, name), f"{name!r} is not a param of the space"
        elif isinstance(p, CategoricalParam) and value not in p.choices:
            yield (*loc, name), f"{value!r} is not one of the choices {p.choices}"
        elif isinstance(p, BoolParam) and not isinstance(value, bool):
            yield (*loc, name), "must be true or false"
        elif isinstance(p, FloatParam | IntParam):
            if isinstance(value, bool) or not isinstance(value, int | float):
                yield (*loc, name), "must be a number"
            elif not p.low <= value <= p.high:
                yield (*loc, name), f"{value} is outside [{p.low}, {p.high}]"
            elif isinstance(p, IntParam) and value != int(value):
                yield (*loc, name), "must be a whole number"


def _check_metrics(spec: Spec) -> Iterable[tuple[Loc, str]]:
    m = spec.metrics
    if m.format == "regex":
        if m.pattern is None:
            yield ("metrics", "format"), "format: regex needs a `pattern` with named groups"
        elif spec.objective.metric not in re.compile(m.pattern).groupindex:
            yield (
                ("objective", "metric"),
                f"{spec.objective.metric!r} is not a named group of metrics.pattern",
            )
    elif m.pattern is not None:
        yield ("metrics", "pattern"), "a pattern is only used with format: regex"
    if m.format == "pykt" and spec.objective.metric not in (*PYKT_METRICS, *PYKT_TEST):
        yield (
            ("objective", "metric"),
            f"pykt lines report {', '.join(PYKT_METRICS + PYKT_TEST)}; "
            f"not {spec.objective.metric!r}",
        )
    elif m.format == "pykt" and spec.objective.metric in PYKT_TEST and not spec.evaluate:
        yield (
            ("objective", "metric"),
            f"{spec.objective.metric!r} comes from pykt's evaluation: add an `evaluate` "
            "command (wandb_predict.py on the trial's save dir)",
        )


def _check_strategy(spec: Spec) -> Iterable[tuple[Loc, str]]:
    s = spec.strategy
    if s.sampler == "list":
        if not s.configs:
            yield ("strategy", "sampler"), "sampler: list needs `configs` (a list of param sets)"
        for i, config in enumerate(s.configs or []):
            yield from check_config(spec, config, ("strategy", "configs", i))
        return
    if s.configs is not None:
        yield ("strategy", "configs"), "configs are only used with sampler: list"
    if s.sampler == "ofat":
        if s.base is not None:
            yield from check_config(spec, dict(s.base), ("strategy", "base"), complete=False)
        for name, values in (s.values or {}).items():
            for i, value in enumerate(values):
                yield from check_config(
                    spec, {name: value}, ("strategy", "values", name, i), complete=False
                )
        return
    for key in ("base", "values"):
        if getattr(s, key) is not None:
            yield ("strategy", key), f"{key} is only used with sampler: ofat"
    if s.sampler == "cmaes" and not any(
        isinstance(p, FloatParam | IntParam) for p in spec.space.values()
    ):
        yield ("strategy", "sampler"), "cmaes needs at least one float or int param"
    if s.sampler == "grid":
        continuous = [
            n for n, p in spec.space.items() if isinstance(p, FloatParam) and p.step is None
        ]
        for name in continuous:
            yield ("space", name), "grid search needs a `step` (or choices) for float params"
        size = SearchSpace(params=dict(spec.space), fixed={}).size()
        if not continuous and size is not None and size > MAX_ENUMERATION:
            yield (
                ("strategy", "sampler"),
                f"the grid has {size:.3g} points, more than {MAX_ENUMERATION:,} can be listed;"
                " use larger steps or another sampler",
            )
    elif s.n_trials is None:
        yield ("strategy", "sampler"), f"sampler {s.sampler!r} needs `n_trials`"
