"""What to run next, derived from the analyses: refined specs, supplementary trials, findings.

Every recommendation carries the numbers it rests on, as a YAML comment or an
evidence string, because a reader must be able to disagree with it. The refined
spec comes in two variants (seed 003's Option A/B): *aggressive* fixes what the
elite agrees on and narrows to the elite range; *conservative* only fixes what
a test also supports, keeps wider margins, and explores params the sweep never
varied.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

from kttui.analysis.coverage import grid_values
from kttui.analysis.elite import EliteParam
from kttui.analysis.impact import MAX_LEVELS
from kttui.analysis.overview import Analysis, analyze
from kttui.analysis.table import ParamInfo, TrialTable
from kttui.analysis.values import canonical, format_value, is_number, sort_key

Variant = Literal["aggressive", "conservative"]

#: Margin around the elite range, as a share of the elite span (in the param's scale).
MARGIN = {"aggressive": 0.1, "conservative": 0.5}
#: An expanded bound moves out by this share of the old span (log: of the old decades).
EXPAND_BY = 0.5
#: A never-varied positive float is explored over x/÷ this factor (conservative only).
EXPLORE_FACTOR = 3.0
#: Conservative fixes a converged param only when a test agrees at this level.
CONSERVATIVE_P = 0.10


# ----------------------------------------------------------------------- YAML
class _SpecRepresenter(RoundTripRepresenter):
    """Floats as 1.0e-05, not 1e-05: YAML 1.1 readers (PyYAML) take the latter for a string."""


def _represent_float(representer: RoundTripRepresenter, data: float) -> Any:
    if math.isnan(data):
        text = ".nan"
    elif math.isinf(data):
        text = ".inf" if data > 0 else "-.inf"
    else:
        text = repr(data)
        mantissa, _, exponent = text.partition("e")
        if exponent and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


_SpecRepresenter.add_representer(float, _represent_float)


_EOL_COMMENT = re.compile(r"^(\s*[^#\s'\"][^#'\"]*?\S) +#(?= )", re.MULTILINE)


def _dump(data: CommentedMap) -> str:
    yaml = YAML()
    yaml.Representer = _SpecRepresenter
    yaml.width = 200
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(data, buf)
    # ruamel puts one space before the first end-of-line comment and two before the rest.
    return _EOL_COMMENT.sub(r"\1  #", buf.getvalue())


def _flow(mapping: Mapping[str, Any]) -> CommentedMap:
    out = CommentedMap()
    for k, v in mapping.items():
        out[k] = _flow_seq(v) if isinstance(v, list) else v
    out.fa.set_flow_style()
    return out


def _flow_seq(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


# ------------------------------------------------------------ space entries
def _sig(x: float, digits: int = 3, mode: Literal["down", "up", "near"] = "near") -> float:
    """Round to ``digits`` significant digits, outward when asked (so ranges never shrink)."""
    if x == 0 or not math.isfinite(x):
        return x
    scale = 10 ** (math.floor(math.log10(abs(x))) - digits + 1)
    q = x / scale
    r = math.floor(q) if mode == "down" else math.ceil(q) if mode == "up" else round(q)
    return float(f"{r * scale:.{digits + 2}g}")


def entry_from_info(info: ParamInfo) -> dict[str, Any]:
    """A spec ``space`` entry for a declared or inferred param."""
    if info.kind == "bool":
        return {"type": "bool"}
    if info.kind == "categorical":
        return {"type": "categorical", "choices": [_plain(c) for c in info.choices or ()]}
    entry: dict[str, Any] = {"type": info.kind, "low": info.low, "high": info.high}
    if info.kind == "int":
        entry["low"], entry["high"] = int(info.low or 0), int(info.high or 0)
    if info.log:
        entry["log"] = True
    if info.step is not None and not info.log:
        entry["step"] = int(info.step) if info.kind == "int" else info.step
    return entry


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if is_number(value):
        x = float(value)
        return int(x) if x.is_integer() and not isinstance(value, float) else x
    return str(value)


def base_space(table: TrialTable, base_spec: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
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


# ---------------------------------------------------------------- refinement
@dataclass(frozen=True)
class SpecChange:
    param: str
    action: str  # fix | narrow | expand | explore | keep
    entry: dict[str, Any] | None  # new space entry, None when moved to fixed
    fixed_value: Any
    reason: str


@dataclass(frozen=True)
class RefinedSpec:
    variant: Variant
    yaml_text: str
    spec: dict[str, Any]  # the same as plain data
    changes: list[SpecChange] = field(default_factory=list)


def refined_specs(
    table: TrialTable,
    base_spec: Mapping[str, Any] | None = None,
    *,
    analysis: Analysis | None = None,
) -> tuple[RefinedSpec, RefinedSpec]:
    """The aggressive and the conservative refinement of ``base_spec``."""
    analysis = analysis or analyze(table)
    return (
        refine_spec(table, base_spec, variant="aggressive", analysis=analysis),
        refine_spec(table, base_spec, variant="conservative", analysis=analysis),
    )


def refine_spec(
    table: TrialTable,
    base_spec: Mapping[str, Any] | None = None,
    *,
    variant: Variant = "aggressive",
    analysis: Analysis | None = None,
) -> RefinedSpec:
    analysis = analysis or analyze(table)
    space = base_space(table, base_spec)
    changes = [
        _refine_param(table, analysis, p, space[p], variant)
        if p in table.params
        else SpecChange(p, "keep", space[p], None, "not in the trials; kept as declared")
        for p in space
    ]
    base = dict(base_spec or _skeleton(table))
    name = f"{_name(base, table)}-{'refined' if variant == 'aggressive' else 'explore'}"
    n_base = int((base.get("strategy") or {}).get("n_trials") or len(table.df) or 20)
    strategy = _strategy(base, changes, variant, n_base)
    spec = CommentedMap()
    fixed_base = dict(base.get("fixed") or {})
    for key, value in base.items():
        if key in ("name", "space", "fixed", "strategy"):
            continue
        spec[key] = _to_yaml(value, key)
    spec.insert(0, "name", name)
    space_map = CommentedMap()
    fixed_map = CommentedMap()
    for k, v in fixed_base.items():
        fixed_map[k] = v
    for change in changes:
        if change.entry is None:
            fixed_map[change.param] = change.fixed_value
            fixed_map.yaml_add_eol_comment(f"{change.action}: {change.reason}", change.param)
        else:
            space_map[change.param] = _flow(change.entry)
            space_map.yaml_add_eol_comment(f"{change.action}: {change.reason}", change.param)
    pos = min(len(spec), list(spec).index("command") + 1 if "command" in spec else len(spec))
    for key in ("metrics",):
        if key in spec:
            pos = max(pos, list(spec).index(key) + 1)
    spec.insert(pos, "space", space_map)
    spec.insert(pos + 1, "fixed", fixed_map)
    strat_map = _flow(strategy)
    spec.insert(pos + 2, "strategy", strat_map)
    spec.yaml_add_eol_comment(_strategy_reason(variant, n_base, strategy), "strategy")
    spec.yaml_set_start_comment(_header(table, analysis, variant))
    text = _dump(spec)
    plain_spec = YAML(typ="safe", pure=True).load(text)
    return RefinedSpec(variant, text, plain_spec, changes)


def _to_yaml(value: Any, key: str) -> Any:
    """Spec values as ruamel nodes: small mappings and scalar lists in flow style."""
    if key == "command" and isinstance(value, list):
        return _flow_seq([str(v) for v in value])
    if isinstance(value, Mapping):
        inner = CommentedMap()
        for k, v in value.items():
            inner[k] = _to_yaml(v, str(k))
        flat = all(
            not isinstance(v, Mapping)
            and not (isinstance(v, list) and any(isinstance(x, Mapping | list) for x in v))
            for v in value.values()
        )
        if flat and key not in ("fixed", "derived", "env", "space", "params"):
            inner.fa.set_flow_style()
        return inner
    if isinstance(value, list):
        if all(not isinstance(v, Mapping | list) for v in value):
            return _flow_seq(list(value))
        seq = CommentedSeq()
        for v in value:
            seq.append(_to_yaml(v, key))
        return seq
    return value


def spec_yaml(spec: Mapping[str, Any]) -> str:
    """``spec`` (a plain dict) as kttui spec YAML in the house style."""
    out = CommentedMap()
    for key, value in spec.items():
        out[key] = _to_yaml(value, str(key))
    return _dump(out)


def _name(base: Mapping[str, Any], table: TrialTable) -> str:
    raw = str(base.get("name") or table.name or "sweep")
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-._") or "sweep"
    return clean if clean[0].isalnum() else f"s{clean}"


def _skeleton(table: TrialTable) -> dict[str, Any]:
    """A spec to refine when none was given: the command is a placeholder to edit."""
    spec: dict[str, Any] = {
        "name": _name({}, table),
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
    spec["fixed"] = {k: _plain(v) for k, v in table.fixed.items()}
    spec["strategy"] = {"sampler": "tpe", "n_trials": max(20, len(table.df)), "seed": 0}
    return spec


def _header(table: TrialTable, analysis: Analysis, variant: Variant) -> str:
    e = analysis.elite
    how = (
        "fixes what every elite trial agrees on, narrows to the elite range (+10 % margin)"
        if variant == "aggressive"
        else (
            "fixes only what a test also supports, keeps 50 % margins, explores never-varied params"
        )
    )
    return (
        f"Generated by kttui from {analysis.summary.n_valued} completed trials of "
        f"{table.name or 'the sweep'!s} ({variant}).\n"
        f"Elite = top {e.fraction:.0%} = {e.n_elite} trials ({table.objective} "
        f"{'>=' if table.direction == 'maximize' else '<='} {format_value(e.threshold)}).\n"
        f"This variant {how}."
    )


def _strategy(
    base: Mapping[str, Any], changes: list[SpecChange], variant: Variant, n_base: int
) -> dict[str, Any]:
    strategy = dict(base.get("strategy") or {})
    strategy.pop("configs", None)
    sampler = strategy.get("sampler", "tpe")
    continuous = any(
        c.entry is not None and c.entry.get("type") == "float" and c.entry.get("step") is None
        for c in changes
    )
    if sampler not in ("grid", "random", "tpe") or (sampler == "grid" and continuous):
        sampler = "tpe"
    strategy["sampler"] = sampler
    if sampler == "grid":
        strategy.pop("n_trials", None)
    else:
        strategy["n_trials"] = max(20, n_base if variant == "aggressive" else 2 * n_base)
    strategy.setdefault("seed", 0)
    return strategy


def _strategy_reason(variant: Variant, n_base: int, strategy: Mapping[str, Any]) -> str:
    if strategy.get("sampler") == "grid":
        return "grid over the refined space"
    if variant == "aggressive":
        return f"smaller space, same budget as the sweep ({n_base} trials)"
    return f"wider space: twice the sweep's budget ({n_base} trials)"


def _refine_param(
    table: TrialTable, analysis: Analysis, p: str, entry: dict[str, Any], variant: Variant
) -> SpecChange:
    e = analysis.elite.get(p)
    values = table.distinct(p)
    if len(values) <= 1:
        return _never_varied(table, p, entry, values, variant)
    if e is None or e.action == "keep":
        reason = e.reason if e is not None else "no elite"
        return SpecChange(p, "keep", entry, None, f"{reason}{_evidence(analysis, p)}")
    if e.action == "fix":
        support = _test_p(analysis, p)
        if variant == "aggressive" or (math.isfinite(support) and support < CONSERVATIVE_P):
            value = table.plain_value(p, e.dominant)
            return SpecChange(p, "fix", None, value, f"{e.reason}{_evidence(analysis, p)}")
        return SpecChange(
            p,
            "keep",
            entry,
            None,
            f"{e.reason}, but no test supports it (p={_p(support)}); kept open",
        )
    if e.action == "narrow":
        return _narrow(table, analysis, p, entry, e, variant)
    return _expand(table, analysis, p, entry, e, variant)


def _never_varied(
    table: TrialTable, p: str, entry: dict[str, Any], values: list[Any], variant: Variant
) -> SpecChange:
    value: Any = table.plain_value(p, values[0]) if values else None
    if variant == "aggressive" or not values:
        why = f"never varied (always {format_value(value)}): the sweep says nothing about it"
        return SpecChange(p, "fix", None, value, why)
    if is_number(value) and not isinstance(value, bool) and float(value) > 0:
        info = table.info(p)
        x = float(value)
        if info.kind == "int":
            low, high = max(1, math.floor(x / 2)), max(math.ceil(x * 2), math.floor(x / 2) + 1)
            new = {"type": "int", "low": int(low), "high": int(high)}
            why = f"never varied (always {format_value(x)}): explore x/÷ 2"
        else:
            new = {
                "type": "float",
                "low": _sig(x / EXPLORE_FACTOR, 2, "down"),
                "high": _sig(x * EXPLORE_FACTOR, 2, "up"),
                "log": True,
            }
            why = (
                f"never varied (always {format_value(x)}): "
                f"explore x/÷ {EXPLORE_FACTOR:g} in log scale"
            )
        return SpecChange(p, "explore", new, None, why)
    return SpecChange(p, "keep", entry, None, f"never varied (always {format_value(value)})")


def _test_p(analysis: Analysis, p: str) -> float:
    g = analysis.importance.group(p)
    if g is not None:
        return g.p_value
    c = analysis.importance.correlation(p)
    return c.correlation.p_value if c is not None else math.nan


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _evidence(analysis: Analysis, p: str) -> str:
    """'; rho=+0.48, p=0.07' or '; Mann-Whitney p=0.003' when a test exists."""
    g = analysis.importance.group(p)
    if g is not None:
        return f"; {g.test} p={_p(g.p_value)}"
    c = analysis.importance.correlation(p)
    if c is not None:
        return f"; rho={c.correlation.rho:+.2f}, p={_p(c.correlation.p_value)}"
    return ""


def _numeric_choices(entry: Mapping[str, Any]) -> list[float] | None:
    if entry.get("type") != "categorical":
        return None
    choices = entry.get("choices") or []
    if choices and all(is_number(c) for c in choices):
        return sorted(float(c) for c in choices)
    return None


def _narrow(
    table: TrialTable,
    analysis: Analysis,
    p: str,
    entry: dict[str, Any],
    e: EliteParam,
    variant: Variant,
) -> SpecChange:
    why = f"{e.reason}{_evidence(analysis, p)}"
    kind = entry.get("type")
    if kind in ("categorical", "bool"):
        choices = list(entry.get("choices") or [False, True])
        used = {canonical(v) for v in e.elite_values}
        if variant == "aggressive":
            keep = [c for c in choices if canonical(c) in used]
        else:
            keep = _with_neighbours(choices, used)
        if len(keep) == len(choices) or not keep:
            return SpecChange(p, "keep", entry, None, why)
        if len(keep) == 1:
            return SpecChange(p, "fix", None, keep[0], why)
        return SpecChange(p, "narrow", {"type": "categorical", "choices": keep}, None, why)
    if e.elite_low is None or e.elite_high is None:
        return SpecChange(p, "keep", entry, None, why)
    low, high = _margin(e.elite_low, e.elite_high, entry, e, MARGIN[variant])
    new = _range_entry(entry, low, high)
    if new is None:
        return SpecChange(p, "keep", entry, None, why)
    return SpecChange(
        p, "narrow", new, None, f"{why} → [{format_value(new['low'])}, {format_value(new['high'])}]"
    )


def _with_neighbours(choices: list[Any], used: set[Any]) -> list[Any]:
    """The used choices plus one neighbour on each side (numbers keep their order)."""
    ordered = sorted(choices, key=lambda c: sort_key(canonical(c)))
    if not all(is_number(c) for c in ordered):
        return list(choices)
    idx = [i for i, c in enumerate(ordered) if canonical(c) in used]
    if not idx:
        return list(choices)
    return ordered[max(0, min(idx) - 1) : max(idx) + 2]


def _margin(
    lo: float, hi: float, entry: Mapping[str, Any], e: EliteParam, share: float
) -> tuple[float, float]:
    log = bool(entry.get("log")) and lo > 0
    f: Callable[[float], float] = math.log10 if log else (lambda v: v)
    g: Callable[[float], float] = (lambda v: 10**v) if log else (lambda v: v)
    span = f(hi) - f(lo)
    full = f(float(entry.get("high", e.bound_high or hi))) - f(
        float(entry.get("low", e.bound_low or lo))
    )
    pad = share * span if span > 0 else 0.05 * full
    new_lo, new_hi = g(f(lo) - pad), g(f(hi) + pad)
    b_lo = float(entry.get("low", e.bound_low if e.bound_low is not None else new_lo))
    b_hi = float(entry.get("high", e.bound_high if e.bound_high is not None else new_hi))
    return max(new_lo, b_lo), min(new_hi, b_hi)


def _range_entry(entry: Mapping[str, Any], low: float, high: float) -> dict[str, Any] | None:
    """A float/int entry over [low, high], snapped outward to the entry's step."""
    kind = entry.get("type")
    if kind == "categorical":
        nums = _numeric_choices(entry)
        if nums is None:
            return None
        keep = [c for c in entry["choices"] if low - 1e-12 <= float(c) <= high + 1e-12]
        return {"type": "categorical", "choices": keep} if len(keep) > 1 else None
    new: dict[str, Any] = {"type": kind}
    step = entry.get("step")
    b_lo, b_hi = float(entry["low"]), float(entry["high"])
    if kind == "int":
        s = int(step or 1)
        lo_i = int(b_lo + math.floor((low - b_lo) / s) * s)
        hi_i = int(b_lo + math.ceil((high - b_lo) / s) * s)
        lo_i, hi_i = max(lo_i, int(b_lo)), min(hi_i, int(b_hi))
        if hi_i <= lo_i:
            hi_i = min(lo_i + s, int(b_hi)) if lo_i + s <= b_hi else hi_i
            lo_i = hi_i - s if hi_i <= lo_i else lo_i
        new.update(low=lo_i, high=hi_i)
    elif step:
        st = float(step)
        n_lo = math.floor((low - b_lo) / st + 1e-9)
        n_hi = math.ceil((high - b_lo) / st - 1e-9)
        if n_hi <= n_lo:
            n_hi = n_lo + 1
        new.update(low=_sig(b_lo + n_lo * st, 6), high=_sig(b_lo + n_hi * st, 6))
    else:
        new.update(low=max(_sig(low, 3, "down"), b_lo), high=min(_sig(high, 3, "up"), b_hi))
    if float(new["high"]) <= float(new["low"]):
        return None
    if entry.get("log"):
        new["log"] = True
    if step and kind == "int" and int(step) != 1:
        new["step"] = int(step)
    elif step and kind == "float":
        new["step"] = step
    return new


def _expand(
    table: TrialTable,
    analysis: Analysis,
    p: str,
    entry: dict[str, Any],
    e: EliteParam,
    variant: Variant,
) -> SpecChange:
    why = f"{e.reason}{_evidence(analysis, p)}"
    nums = _numeric_choices(entry)
    if entry.get("type") == "categorical":
        if nums is None or len(nums) < 2:
            return SpecChange(p, "keep", entry, None, why)
        ints = all(isinstance(c, int) for c in entry["choices"])
        added: list[Any] = []
        if e.expand_high:
            added.append(_next_choice(nums[-2], nums[-1], ints))
        if e.expand_low:
            nxt = _next_choice(nums[1], nums[0], ints)
            if nxt > 0 or nums[0] <= 0:
                added.append(nxt)
        base = list(entry["choices"])
        if variant == "aggressive":
            used = {canonical(v) for v in e.elite_values}
            base = [c for c in base if canonical(c) in used] or base
        choices = sorted(
            {*[canonical(c) for c in base], *[canonical(a) for a in added]}, key=sort_key
        )
        choices_out = [int(c) if ints else c for c in choices]
        return SpecChange(
            p,
            "expand",
            {"type": "categorical", "choices": choices_out},
            None,
            f"{why} → add {', '.join(format_value(a) for a in added)}",
        )
    lo, hi = float(entry["low"]), float(entry["high"])
    log = bool(entry.get("log")) and lo > 0
    new_lo, new_hi = lo, hi
    if log:
        decades = math.log10(hi / lo)
        factor = min(10.0, 10 ** (EXPAND_BY * decades))
        if e.expand_high:
            new_hi = hi * factor
        if e.expand_low:
            new_lo = lo / factor
    else:
        span = hi - lo
        if e.expand_high:
            new_hi = hi + EXPAND_BY * span
        if e.expand_low:
            new_lo = lo - EXPAND_BY * span
    notes = []
    if lo >= 0 and new_lo < 0:
        new_lo = 0.0
    if lo >= 0 and hi <= 1 and entry.get("type") == "float" and new_hi > 1:
        new_hi = 1.0
        notes.append("capped at 1 (the range looks like a probability)")
    if entry.get("type") == "int" and lo >= 1:
        new_lo = max(1.0, new_lo)
    if variant == "aggressive" and not e.expand_low and e.elite_low is not None:
        floor, _ = _margin(e.elite_low, e.elite_high or e.elite_low, entry, e, MARGIN[variant])
        new_lo = max(new_lo, floor)
    if variant == "aggressive" and not e.expand_high and e.elite_high is not None:
        _, ceiling = _margin(e.elite_low or e.elite_high, e.elite_high, entry, e, MARGIN[variant])
        new_hi = min(new_hi, ceiling)
    widened = {**entry, "low": min(new_lo, lo), "high": max(new_hi, hi)}
    new = _range_entry(widened, new_lo, new_hi)
    if new is None:
        return SpecChange(p, "keep", entry, None, why)
    rng = f" → [{format_value(new['low'])}, {format_value(new['high'])}]"
    return SpecChange(p, "expand", new, None, why + rng + (f"; {notes[0]}" if notes else ""))


def _next_choice(prev: float, last: float, ints: bool) -> Any:
    """Continue a grid one step past ``last`` (geometric when it looks geometric)."""
    if prev > 0 and last > 0 and (last / prev >= 1.5 or prev / last >= 1.5):
        nxt = last * (last / prev)
    else:
        nxt = last + (last - prev)
    return round(nxt) if ints else _sig(nxt, 3)


# ------------------------------------------------------ supplementary trials
@dataclass(frozen=True)
class Proposal:
    label: str
    kind: Literal["between", "extreme", "combination"]
    config: dict[str, Any]
    reason: str


def supplementary_trials(
    table: TrialTable,
    *,
    analysis: Analysis | None = None,
    base_spec: Mapping[str, Any] | None = None,
    max_trials: int = 24,
) -> list[Proposal]:
    """One-factor-at-a-time trials around the best config (seed 001).

    Three kinds, interleaved by param importance: untested values between the
    best value and its tested neighbours, forced extremes of each numeric range,
    and untested pairs of values the elite uses. Configs already run, and (when
    the spec has constraints) infeasible ones, are left out.
    """
    analysis = analysis or analyze(table)
    best = table.ranked().head(1)
    if best.empty:
        return []
    base = {p: _tidy(table, p, v) for p, v in table.config_of(best.iloc[0]).items()}
    order = _importance_order(table, analysis)
    tried = set(table.config_keys())
    check = _feasibility(base_spec)
    seen: set[tuple[Any, ...]] = set()
    lists: dict[str, list[Proposal]] = {"between": [], "extreme": [], "combination": []}

    def add(
        kind: Literal["between", "extreme", "combination"], changes: dict[str, Any], why: str
    ) -> None:
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
    picked: list[Proposal] = []
    prefix = {"between": "B", "extreme": "X", "combination": "C"}
    counters = dict.fromkeys(prefix, 0)
    while len(picked) < max_trials and any(lists.values()):
        for kind in ("between", "extreme", "combination"):
            if lists[kind] and len(picked) < max_trials:
                prop = lists[kind].pop(0)
                counters[kind] += 1
                picked.append(
                    Proposal(f"{prefix[kind]}{counters[kind]}", prop.kind, prop.config, prop.reason)
                )
    return picked


def _tidy(table: TrialTable, p: str, value: Any) -> Any:
    """Continuous floats to 4 significant digits: a proposal is read by people."""
    if isinstance(value, float) and table.info(p).kind == "float" and grid_values(table, p) is None:
        return _sig(value, 4)
    return value


def _importance_order(table: TrialTable, analysis: Analysis) -> list[str]:
    primary = analysis.importance.primary
    score: dict[str, float] = dict.fromkeys(table.params, 0.0)
    if primary is not None:
        score.update({p: v for p, v in primary.percent.items() if p in score})
    else:
        for d in analysis.importance.correlations:
            score[d.correlation.param] = abs(d.correlation.rho)
    return sorted(table.params, key=lambda p: -score[p])


def _extremes(table: TrialTable, analysis: Analysis, p: str) -> list[tuple[Any, str]]:
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
            (_sig(x / f, 2), f"never varied: ÷{f:g} (always {format_value(x)})"),
            (_sig(x * f, 2), f"never varied: ×{f:g} (always {format_value(x)})"),
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
            beyond = _next_choice(values[-2], values[-1], ints)
            out.append((beyond, f"beyond the upper end ({e.reason})"))
        if e.expand_low and len(values) > 1:
            beyond = _next_choice(values[1], values[0], ints)
            if float(beyond) > 0 or values[0] <= 0:
                out.append((beyond, f"beyond the lower end ({e.reason})"))
    return out


def _elite_combos(
    table: TrialTable, analysis: Analysis, order: list[str]
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


def _feasibility(base_spec: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate for the spec's constraints, via kttui.expr when it is there."""
    constraints = list((base_spec or {}).get("constraints") or [])
    if not constraints:
        return lambda config: True
    try:
        from kttui.expr import ExprError, parse
    except ImportError:
        return lambda config: True
    fixed = dict((base_spec or {}).get("fixed") or {})
    derived = dict((base_spec or {}).get("derived") or {})
    try:
        exprs = [parse(c) for c in constraints]
        derived_exprs = [(k, parse(v)) for k, v in derived.items()]
    except ExprError:
        return lambda config: True

    def ok(config: Mapping[str, Any]) -> bool:
        env = {**fixed, **config}
        try:
            for name, expr in derived_exprs:
                env[name] = expr.evaluate(env)
            return all(bool(expr.evaluate(env)) for expr in exprs)
        except ExprError:
            return False

    return ok


def proposals_yaml(
    table: TrialTable,
    proposals: list[Proposal],
    base_spec: Mapping[str, Any] | None = None,
) -> str:
    """A spec running exactly ``proposals`` (``strategy: {sampler: list, configs: [...]}``).

    The space is widened where a proposal lies outside it, so every config is
    inside the spec it ships with.
    """
    base = dict(base_spec or _skeleton(table))
    space = base_space(table, base_spec)
    for prop in proposals:
        for p, v in prop.config.items():
            if p in space:
                space[p] = _widen(space[p], v)
    spec = CommentedMap()
    for key, value in base.items():
        if key in ("name", "space", "strategy"):
            continue
        spec[key] = _to_yaml(value, key)
    spec.insert(0, "name", f"{_name(base, table)}-supplementary")
    space_map = CommentedMap()
    for p, entry in space.items():
        space_map[p] = _flow(entry)
    pos = list(spec).index("command") + 1 if "command" in spec else len(spec)
    spec.insert(pos, "space", space_map)
    configs = CommentedSeq()
    for i, prop in enumerate(proposals):
        configs.append(_flow({p: prop.config[p] for p in space if p in prop.config}))
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
    return _dump(spec)


def _widen(entry: dict[str, Any], value: Any) -> dict[str, Any]:
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


# ------------------------------------------------------------------ findings
Strength = Literal["fact", "strong", "suggestive", "weak"]


@dataclass(frozen=True)
class Finding:
    text: str
    evidence: str
    strength: Strength


def findings(analysis: Analysis) -> list[Finding]:
    """Plain-language statements, each with the row of numbers it comes from.

    Wording follows the evidence: p<0.05 states, p<0.10 says "may", anything
    else says there is no reliable trend.
    """
    t = analysis.table
    s = analysis.summary
    out: list[Finding] = []
    obj = t.objective or "value"
    if s.n_valued == 0:
        return [
            Finding(
                "No trial completed with a result; nothing can be concluded.",
                f"{s.n_total} trials",
                "fact",
            )
        ]
    out.append(
        Finding(
            f"The best {obj} is {format_value(s.best_value)} (trial #{s.best_number}).",
            f"{s.n_valued} completed trials; median {format_value(s.median)}",
            "fact",
        )
    )
    if s.vs_baseline is not None:
        vb = s.vs_baseline
        verb = "improves on" if s.improvement_over_baseline > 0 else "does not beat"
        out.append(
            Finding(
                f"The best trial {verb} the baseline {format_value(vb.baseline)} "
                f"by {s.improvement_over_baseline:+.4g}; "
                f"{vb.n_better} of {vb.n_compared} completed "
                f"trials beat it ({vb.share_better:.0%}).",
                f"better {vb.n_better}, equal {vb.n_equal}, worse {vb.n_worse} "
                f"(of {vb.n_compared} with a result)",
                "fact",
            )
        )
    if s.target is not None and s.target_reached is not None:
        text = (
            f"The target {format_value(s.target)} was reached."
            if s.target_reached
            else (
                f"The target {format_value(s.target)} was not reached; "
                f"the gap is {s.gap_to_target:.4g}."
            )
        )
        out.append(Finding(text, f"best {format_value(s.best_value)}", "fact"))
    out.extend(_trend_findings(analysis))
    for nv in analysis.coverage.never_varied:
        out.append(
            Finding(
                f"{nv.param} was never varied (always {format_value(nv.value)}): "
                "the sweep cannot say "
                "whether another value would do better.",
                f"{nv.n} trials, 1 distinct value",
                "fact",
            )
        )
    for rv in analysis.coverage.tested_once:
        out.append(
            Finding(
                f"{rv.param}={format_value(rv.value)} rests on a single trial (#{rv.number}); "
                "do not conclude from it.",
                "n=1",
                "fact",
            )
        )
    d = analysis.duplicates
    if d.n_wasted:
        out.append(
            Finding(
                f"{d.n_wasted} trials ({d.share_wasted:.0%}) re-ran a config that had already run.",
                f"{d.n_unique} unique configs in {d.n_trials} trials",
                "fact",
            )
        )
    out.extend(_noise_findings(analysis))
    c = analysis.convergence
    if c is not None and c.n_completed > 1 and c.improvement > 0:
        out.append(
            Finding(
                f"95 % of the improvement was reached at trial #{c.number_at_95} "
                f"({c.position_at_95} of {c.n_completed} completed); "
                f"{c.trials_since_best} completed trials since the best.",
                f"first {format_value(c.first_value)} → best {format_value(c.best_value)}",
                "fact",
            )
        )
    b = analysis.budgets
    if b is not None:
        for ag in b.agreements:
            if math.isfinite(ag.rho):
                out.append(
                    Finding(
                        f"Configs run at both {format_value(ag.budget_a)} and "
                        f"{format_value(ag.budget_b)} rank "
                        f"{'similarly' if ag.rho > 0.5 else 'differently'} "
                        f"(Spearman rho={ag.rho:+.2f}).",
                        f"n={ag.n_shared} shared configs, p={_p(ag.p_value)} ({ag.tier})",
                        _strength(ag.p_value),
                    )
                )
    return out


def _strength(p: float) -> Strength:
    if not math.isfinite(p) or p >= 0.10:
        return "weak"
    return "strong" if p < 0.05 else "suggestive"


def _trend_findings(analysis: Analysis) -> list[Finding]:
    out: list[Finding] = []
    for d in analysis.importance.correlations:
        c = d.correlation
        ev = f"Spearman rho={c.rho:+.3f}, p={_p(c.p_value)}, n={c.n} ({c.tier})"
        better = d.goodness > 0
        if c.tier == "p<0.05":
            text = f"Higher {c.param} does {'better' if better else 'worse'}."
        elif c.tier == "p<0.10":
            text = f"Higher {c.param} may do {'better' if better else 'worse'} (suggestive only)."
        elif abs(c.rho) >= 0.2:
            lean = "up" if better else "down"
            text = f"No reliable trend for {c.param} (the data lean {lean}, not significantly)."
        else:
            continue
        out.append(Finding(text, ev, _strength(c.p_value)))
    for g in analysis.importance.groups:
        best, worst = g.groups[0], g.groups[-1]
        ev = (
            f"{g.test} p={_p(g.p_value)} ({g.tier}); "
            f"mean {best.label}: {format_value(best.mean)} (n={best.n}) "
            f"vs {worst.label}: {format_value(worst.mean)} (n={worst.n})"
        )
        if g.tier == "p<0.05":
            text = f"{g.param}={best.label} does better than {g.param}={worst.label}."
        elif g.tier == "p<0.10":
            text = (
                f"{g.param}={best.label} may do better than {g.param}={worst.label} "
                "(suggestive only)."
            )
        else:
            text = f"No reliable difference between the values of {g.param}."
        out.append(Finding(text, ev, _strength(g.p_value)))
    primary = analysis.importance.primary
    if primary is not None and primary.percent:
        top, pct = next(iter(primary.percent.items()))
        out.append(
            Finding(
                f"{top} carries the largest share of importance ({pct:.0f} %, {primary.label}).",
                ", ".join(f"{k} {v:.0f} %" for k, v in list(primary.percent.items())[:5]),
                "fact",
            )
        )
    return out


def _noise_findings(analysis: Analysis) -> list[Finding]:
    sn = analysis.seeds
    if sn is None:
        return []
    t = analysis.table
    ranked = t.ranked()["value"].to_numpy(dtype=float)
    top_spread = abs(ranked[0] - ranked[min(4, len(ranked) - 1)]) if len(ranked) > 1 else math.nan
    worst = max(sn.configs, key=lambda c: max(c.values) - min(c.values))
    spread = max(worst.values) - min(worst.values)
    text = (
        f"Re-running the same config changed {t.objective or 'the value'} by up to {spread:.4g} "
        f"(pooled sd {sn.noise_std:.3g}, {sn.source})"
    )
    if math.isfinite(top_spread):
        relation = "more than" if spread > top_spread else "less than"
        text += f", {relation} the spread of the top 5 ({top_spread:.4g}): "
        text += (
            "their order may be noise."
            if spread > top_spread
            else "the ranking is larger than the noise."
        )
    else:
        text += "."
    ev = (
        ", ".join(format_value(v) for v in worst.values)
        + f" for trials {', '.join(f'#{n}' for n in worst.numbers)}"
    )
    return [Finding(text, ev, "fact")]
