"""Load a spec file and report every problem as ``FILE:LINE: field.path: message``.

YAML is read twice: a *safe* load gives the values (no tags, no objects), a
round-trip load gives the line of every key so that pydantic's error locations
can be pointed at the line a user has to fix. Cross-field rules (names,
expressions, placeholders, ranges) live here, after the per-field validation,
because only here do errors know their line.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kttui.metricparse import PYKT_METRICS
from kttui.pyktlines import PYKT_TEST
from kttui.space import MAX_ENUMERATION, SearchSpace, compile_space, grid_top
from kttui.spec import (
    BUILTIN_PLACEHOLDERS,
    MODELS_BY_PATH,
    NAME_RE,
    BoolParam,
    CategoricalParam,
    FloatParam,
    IntParam,
    Spec,
)
from kttui.specpartial import overlaps, validate_partially
from kttui.yamldepth import MAX_YAML_DEPTH, nesting_line

PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecIssue:
    file: str
    line: int  # 1-based; 0 when unknown
    path: str
    message: str
    column: int = 0  # 1-based column of the offending key; 0 when unknown

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(Exception):
    """A spec is invalid; ``issues`` holds every problem, each with its line."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    space: SearchSpace
    text: str
    path: Path | None


def load_spec(path: str | Path) -> LoadedSpec:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([SpecIssue(str(p), 0, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([SpecIssue(str(p), 0, "", f"cannot read: {exc}")]) from None
    loaded = load_spec_text(text, str(p))
    return LoadedSpec(loaded.spec, loaded.space, text, p)


def load_spec_text(text: str, filename: str = "<spec>") -> LoadedSpec:
    """Validate spec text; raise :class:`SpecError` listing every problem."""
    data = _parse_yaml(text, filename)
    if not isinstance(data, dict):
        raise SpecError([SpecIssue(filename, 1, "", "a spec must be a mapping of keys")])
    locator = _Locator(filename, lambda: _marks(text))
    issues: list[SpecIssue] = []
    pruned: list[Loc] = []
    try:
        spec: Spec | None = Spec.model_validate(data)
    except ValidationError as exc:  # go on: every problem at once, schema and semantic
        issues = locator.from_pydantic(exc)
        spec, pruned = validate_partially(data, exc)
    if spec is None:
        raise SpecError(sorted(issues, key=lambda i: (i.line, i.column)))
    space, space_issues = compile_space(spec)
    semantic = [(i.loc, i.message) for i in space_issues] + list(cross_check(spec))
    issues += [locator.issue(loc, msg) for loc, msg in semantic if not overlaps(loc, msg, pruned)]
    if issues:
        raise SpecError(sorted(issues, key=lambda i: (i.line, i.column)))
    return LoadedSpec(spec, space, text, None)


def _parse_yaml(text: str, filename: str) -> Any:
    deep = nesting_line(text)
    if deep is not None:
        message = f"YAML: nested more than {MAX_YAML_DEPTH} levels deep"
        raise SpecError([SpecIssue(filename, deep, "", message)])
    safe = YAML(typ="safe", pure=True)
    try:
        data = safe.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError([SpecIssue(filename, line, "", f"YAML: {problem}")]) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise SpecError([SpecIssue(filename, 1, "", f"YAML: {first}")]) from None
    except (RecursionError, MemoryError):
        raise SpecError([SpecIssue(filename, 1, "", "YAML: nested too deeply")]) from None
    return data


def _marks(text: str) -> Any:
    """The round-trip tree that knows the line of every key; only read when there is a
    problem to place (it costs as much again as the values)."""
    try:
        return YAML(typ="rt").load(text)
    except (YAMLError, RecursionError, MemoryError):
        return None


class _Locator:
    """Maps an error location (a path of keys) to the line it is on."""

    def __init__(self, filename: str, load_marks: Callable[[], Any]) -> None:
        self.filename = filename
        self._load_marks = load_marks

    @functools.cached_property
    def marks(self) -> Any:
        return self._load_marks()

    def issue(self, loc: Loc, message: str) -> SpecIssue:
        line, column, path = self._find(loc)
        return SpecIssue(self.filename, line, path, message, column)

    def from_pydantic(self, exc: ValidationError) -> list[SpecIssue]:
        issues = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            message = _message(err)
            if err["type"] == "extra_forbidden" and loc:
                message = f"unknown key {loc[-1]!r}" + _did_you_mean(loc)
            issues.append(self.issue(loc, message))
        return sorted(issues, key=lambda i: i.line)

    def _find(self, loc: Loc) -> tuple[int, int, str]:
        node = self.marks
        line, column = 1, 0
        shown: list[str] = []
        descending = True
        for part in loc:
            if descending and isinstance(node, CommentedMap):
                if part in node:
                    key_line, key_col = node.lc.key(part)
                    line, column = key_line + 1, key_col + 1
                    node = node[part]
                    shown.append(str(part))
                    continue
                if node.get("type") == part:  # pydantic's discriminator tag: not a key
                    continue
                descending = False
            elif descending and isinstance(node, CommentedSeq) and isinstance(part, int):
                if 0 <= part < len(node):
                    item_line, item_col = node.lc.item(part)
                    line, column = item_line + 1, item_col + 1
                    node = node[part]
                    shown.append(f"[{part}]")
                    continue
                descending = False
            else:
                descending = False
            shown.append(f"[{part}]" if isinstance(part, int) else str(part))
        path = ".".join(shown).replace(".[", "[")
        return line, column, path


def _message(err: Any) -> str:
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        return f"unknown type {tag!r}; use one of: float, int, categorical, bool"
    if err["type"] == "union_tag_not_found":
        return "needs a `type:` (float, int, categorical or bool)"
    return msg[0].lower() + msg[1:] if msg else msg


def _did_you_mean(loc: Loc) -> str:
    key = str(loc[-1])
    parent = loc[:-1]
    generic = tuple(
        "*" if i == 1 and parent and parent[0] == "space" else p for i, p in enumerate(parent)
    )
    generic = tuple(p for p in generic if p not in ("float", "int", "categorical", "bool"))
    models = MODELS_BY_PATH.get(tuple(str(p) for p in generic))
    if not models:
        return ""
    vocabulary = sorted({f for m in models for f in m.model_fields})
    close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(vocabulary)})"


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
