"""Supplementary trials around the best config (seed 001), and the spec that runs them.

Three kinds, interleaved by param importance: untested values between the best
value and its tested neighbours (B), forced extremes of each numeric range (X),
and untested pairs of values the elite uses (C). A proposal is kept only if the
runner would launch it: feasibility is the runner's own
:meth:`kttui.space.SearchSpace.complete`, not a second reading of the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from kttui.analysis.coverage import grid_values
from kttui.analysis.overview import Analysis, analyze
from kttui.analysis.table import TrialFrame
from kttui.analysis.values import canonical, is_number
from kttui.recommend.base import base_space, skeleton, spec_name
from kttui.recommend.changes import EXPLORE_FACTOR
from kttui.recommend.ranges import next_choice, round_sig
from kttui.recommend.yamlstyle import copy_except, dump, flow
from kttui.safetext import format_value, sort_key
from kttui.space import Infeasible, SearchSpace
from kttui.spec import Spec

Kind = Literal["between", "extreme", "combination"]
KINDS: tuple[Kind, ...] = ("between", "extreme", "combination")
PREFIX: dict[Kind, str] = {"between": "B", "extreme": "X", "combination": "C"}


@dataclass(frozen=True)
class Proposal:
    label: str
    kind: Kind
    config: dict[str, Any]
    reason: str


def supplementary_trials(
    table: TrialFrame,
    *,
    analysis: Analysis | None = None,
    base_spec: Mapping[str, Any] | None = None,
    max_trials: int = 24,
) -> list[Proposal]:
    """One-factor-at-a-time trials around the best config.

    Configs already run, and configs the runner would reject as infeasible
    (a constraint fails, or a derived param cannot be computed), are left out.
    """
    analysis = analysis or analyze(table)
    best = table.ranked().head(1)
    if best.empty:
        return []
    base = {p: _tidy(table, p, v) for p, v in table.config_of(best.iloc[0]).items()}
    order = _importance_order(table, analysis)
    tried = set(table.config_keys())
    check = feasibility(base_spec)
    seen: set[tuple[Any, ...]] = set()
    lists: dict[Kind, list[Proposal]] = {kind: [] for kind in KINDS}

    def add(kind: Kind, changes: dict[str, Any], why: str) -> None:
        config = {**base, **{k: table.plain_value(k, v) for k, v in changes.items()}}
        key = tuple(canonical(config.get(p)) for p in table.params)
        if key in tried or key in seen or not check(config):
            return
        seen.add(key)
        lists[kind].append(Proposal("", kind, config, why))

    gaps = {p: [g for g in analysis.coverage.gaps if g.param == p and g.near_best] for p in order}
    for p in order:
        for gap in gaps[p]:
            for v in gap.candidates[:3]:
                add(
                    "between",
                    {p: v},
                    f"{p}={format_value(v)}: untested between {format_value(gap.lower)} and "
                    f"{format_value(gap.upper)} (best uses {format_value(base.get(p))})",
                )
    for p in order:
        for v, why in _extremes(table, analysis, p):
            if canonical(v) != canonical(base.get(p)):
                add("extreme", {p: v}, f"{p}={format_value(v)}: {why}")
    for a_p, b_p, combos in _elite_combos(table, analysis, order):
        for u, v in combos:
            add(
                "combination",
                {a_p: u, b_p: v},
                f"{a_p}={format_value(u)} × {b_p}={format_value(v)}: "
                "both used by the elite, never together",
            )
    return interleave(lists, max_trials)


def interleave(lists: Mapping[Kind, list[Proposal]], max_trials: int) -> list[Proposal]:
    """One of each kind in turn (B1, X1, C1, B2, ...), labelled, at most ``max_trials``."""
    queues = {kind: list(lists.get(kind, [])) for kind in KINDS}
    picked: list[Proposal] = []
    counters = dict.fromkeys(KINDS, 0)
    while len(picked) < max_trials and any(queues.values()):
        for kind in KINDS:
            if queues[kind] and len(picked) < max_trials:
                prop = queues[kind].pop(0)
                counters[kind] += 1
                label = f"{PREFIX[kind]}{counters[kind]}"
                picked.append(Proposal(label, prop.kind, prop.config, prop.reason))
    return picked


def feasibility(base_spec: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any]], bool]:
    """Would the runner launch this config? Asked of the runner's own :class:`SearchSpace`.

    A new trial starts at the first budget tier, so the budget param is set to
    it, as the runner does. A base spec that does not validate cannot be run at
    all (``kttui run`` names its problems), so it constrains nothing here.
    """
    if not base_spec or not (base_spec.get("constraints") or base_spec.get("derived")):
        return lambda config: True
    try:
        spec = Spec.model_validate(dict(base_spec))
        space = SearchSpace.from_spec(spec)
    except (ValidationError, ValueError):
        return lambda config: True
    budget = {spec.budgets.param: spec.budgets.tiers[0]} if spec.budgets else {}

    def ok(config: Mapping[str, Any]) -> bool:
        try:
            space.complete({**config, **budget})
        except Infeasible:
            return False
        return True

    return ok


def _tidy(table: TrialFrame, p: str, value: Any) -> Any:
    """Continuous floats to 4 significant digits: a proposal is read by people."""
    if isinstance(value, float) and table.info(p).kind == "float" and grid_values(table, p) is None:
        return round_sig(value, 4)
    return value


def _importance_order(table: TrialFrame, analysis: Analysis) -> list[str]:
    primary = analysis.importance.primary
    score: dict[str, float] = dict.fromkeys(table.params, 0.0)
    if primary is not None:
        score.update({p: v for p, v in primary.percent.items() if p in score})
    else:
        for d in analysis.importance.correlations:
            score[d.correlation.param] = abs(d.correlation.rho)
    return sorted(table.params, key=lambda p: -score[p])


def _extremes(table: TrialFrame, analysis: Analysis, p: str) -> list[tuple[Any, str]]:
    if not table.is_numeric(p):
        return []
    info = table.info(p)
    only = table.distinct(p)
    if len(only) == 1:
        x = float(only[0])
        if x <= 0:
            return []
        if info.kind == "int":
            return [(max(1, x // 2), "never varied: half"), (x * 2, "never varied: double")]
        f = EXPLORE_FACTOR
        return [
            (round_sig(x / f, 2), f"never varied: ÷{f:g} (always {format_value(x)})"),
            (round_sig(x * f, 2), f"never varied: ×{f:g} (always {format_value(x)})"),
        ]
    if len(only) < 2:
        return []
    grid = grid_values(table, p)
    if info.kind == "categorical" or (grid is not None and grid[1] == "observed"):
        values = grid[0] if grid is not None else table.distinct(p)
        lo, hi, src = values[0], values[-1], "grid"
    else:
        lo, hi, src = info.low, info.high, "declared bound" if p in table.space else "range tried"
    tested = set(table.distinct(p, table.completed))
    out = []
    for v, side in ((lo, "lower"), (hi, "upper")):
        if v is None:
            continue
        note = (
            "never tested" if canonical(v) not in tested else "tested, but not with the best config"
        )
        out.append((v, f"forced {side} extreme ({src}; {note})"))
    e = analysis.elite.get(p)
    if e is not None and e.action == "expand" and is_number(lo) and is_number(hi):
        values = sorted(float(v) for v in (table.distinct(p)))
        ints = info.kind == "int" or all(float(v).is_integer() for v in values)
        if e.expand_high and len(values) > 1:
            beyond = next_choice(values[-2], values[-1], ints)
            out.append((beyond, f"beyond the upper end ({e.reason})"))
        if e.expand_low and len(values) > 1:
            beyond = next_choice(values[1], values[0], ints)
            if float(beyond) > 0 or values[0] <= 0:
                out.append((beyond, f"beyond the lower end ({e.reason})"))
    return out


def _elite_combos(
    table: TrialFrame, analysis: Analysis, order: list[str]
) -> list[tuple[str, str, list[tuple[Any, Any]]]]:
    pairs = {(pc.a, pc.b): pc for pc in analysis.coverage.pairs}
    rank = {p: i for i, p in enumerate(order)}
    out = []
    for (a, b), pc in sorted(pairs.items(), key=lambda kv: rank[kv[0][0]] + rank[kv[0][1]]):
        ea, eb = analysis.elite.get(a), analysis.elite.get(b)
        if ea is None or eb is None:
            continue
        used_a, used_b = set(ea.elite_values), set(eb.elite_values)
        combos = [(u, v) for u, v in pc.untested_examples if u in used_a and v in used_b]
        if combos:
            out.append((a, b, combos[:2]))
    return out


def proposals_yaml(
    table: TrialFrame,
    proposals: list[Proposal],
    base_spec: Mapping[str, Any] | None = None,
) -> str:
    """A spec running exactly ``proposals`` (``strategy: {sampler: list, configs: [...]}``).

    The space is widened where a proposal lies outside it, so every config is
    inside the spec it ships with.
    """
    base = dict(base_spec or skeleton(table))
    space = base_space(table, base_spec)
    for prop in proposals:
        for p, v in prop.config.items():
            if p in space:
                space[p] = widen(space[p], v)
    spec = copy_except(base, ("name", "space", "strategy"))
    spec.insert(0, "name", f"{spec_name(base, table)}-supplementary")
    space_map = CommentedMap()
    for p, entry in space.items():
        space_map[p] = flow(entry)
    pos = list(spec).index("command") + 1 if "command" in spec else len(spec)
    spec.insert(pos, "space", space_map)
    configs = CommentedSeq()
    for i, prop in enumerate(proposals):
        configs.append(flow({p: prop.config[p] for p in space if p in prop.config}))
        configs.yaml_add_eol_comment(f"{prop.label}: {prop.reason}", i)
    strategy = CommentedMap()
    strategy["sampler"] = "list"
    strategy["configs"] = configs
    spec["strategy"] = strategy
    spec.yaml_set_start_comment(
        "Supplementary trials proposed by kttui around the best trial of "
        f"{table.name or 'the sweep'}:\n"
        "B = untested in-between values, X = forced extremes, C = untested combinations."
    )
    return dump(spec)


def widen(entry: dict[str, Any], value: Any) -> dict[str, Any]:
    """``entry`` grown just enough to hold ``value`` (a step that no longer fits is dropped)."""
    kind = entry.get("type")
    if kind == "categorical":
        choices = list(entry.get("choices") or [])
        if canonical(value) not in {canonical(c) for c in choices}:
            choices = sorted([*choices, value], key=lambda c: sort_key(canonical(c)))
        return {**entry, "choices": choices}
    if kind in ("int", "float") and is_number(value):
        out = dict(entry)
        out["low"] = min(entry["low"], value)
        out["high"] = max(entry["high"], value)
        if entry.get("step") is not None and (value - entry["low"]) % entry["step"]:
            out.pop("step")
        return out
    return entry
