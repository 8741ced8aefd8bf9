"""The search space as the runner uses it: sampling ranges, derived params, feasibility.

A :class:`SearchSpace` is built once from a validated :class:`~kttui.spec.Spec`;
it compiles the ``derived`` and ``constraints`` expressions (with the safe
evaluator), orders derived params by dependency, enumerates finite spaces and
turns a sampled point into the full config a trial receives.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kttui.expr import Expr, ExprError, ExprLimit, parse
from kttui.spec import BoolParam, CategoricalParam, FloatParam, IntParam, Spec

#: Enumerating more points than this to count feasible ones is not worth the wait.
MAX_ENUMERATION = 1_000_000


class Infeasible(ValueError):
    """A config violates a constraint (or a derived param cannot be computed)."""


@dataclass(frozen=True)
class SpaceIssue:
    """A problem found while compiling a spec's expressions, with where it is."""

    loc: tuple[str | int, ...]
    message: str


@dataclass
class SearchSpace:
    params: dict[str, FloatParam | IntParam | CategoricalParam | BoolParam]
    fixed: dict[str, Any]
    derived: list[tuple[str, Expr]] = field(default_factory=list)
    constraints: list[Expr] = field(default_factory=list)

    @classmethod
    def from_spec(cls, spec: Spec) -> SearchSpace:
        space, issues = compile_space(spec)
        if issues:
            raise ValueError("; ".join(f"{'.'.join(map(str, i.loc))}: {i.message}" for i in issues))
        return space

    # -- finite spaces ---------------------------------------------------
    def values(self, name: str) -> list[Any] | None:
        """Every value of a param, or None when it is continuous."""
        p = self.params[name]
        if isinstance(p, BoolParam):
            return [False, True]
        if isinstance(p, CategoricalParam):
            return list(p.choices)
        if isinstance(p, IntParam):
            if p.log and p.step == 1:
                return list(range(p.low, p.high + 1))
            return list(range(p.low, p.high + 1, p.step))
        if p.step is None:
            return None
        return float_grid(p.low, p.high, p.step)

    def count(self, name: str) -> int | None:
        """How many values a param has (None: continuous), counted without listing them:
        ``step: 1e-300`` is a number of points, not a list to allocate."""
        p = self.params[name]
        if isinstance(p, BoolParam):
            return 2
        if isinstance(p, CategoricalParam):
            return len(p.choices)
        if isinstance(p, IntParam):
            return max(0, (p.high - p.low) // p.step + 1)
        if p.step is None:
            return None
        return grid_count(p.low, p.high, p.step)

    @property
    def is_finite(self) -> bool:
        return all(self.count(name) is not None for name in self.params)

    def size(self) -> int | None:
        """Points in the (unconstrained) space, or None when continuous."""
        total = 1
        for name in self.params:
            n = self.count(name)
            if n is None:
                return None
            total *= n
        return total

    def points(self) -> Iterator[dict[str, Any]]:
        """Every point of a finite space, in a stable order."""
        names = list(self.params)
        lists = [self.values(n) or [] for n in names]
        for combo in itertools.product(*lists):
            yield dict(zip(names, combo, strict=True))

    def feasible_points(self) -> Iterator[dict[str, Any]]:
        for point in self.points():
            try:
                self.complete(point)
            except Infeasible:
                continue
            yield point

    def feasible_count(self) -> int | None:
        size = self.size()
        if size is None or size > MAX_ENUMERATION:
            return None
        return sum(1 for _ in self.feasible_points())

    # -- configs ---------------------------------------------------------
    def complete(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        """Sampled params + fixed + derived, checked against the constraints."""
        config: dict[str, Any] = {**self.fixed, **sampled}
        for name, expr in self.derived:
            try:
                config[name] = _tidy(expr.evaluate(config))
            except ExprError as exc:
                raise Infeasible(f"derived {name}: {exc}") from None
        for expr in self.constraints:
            try:
                ok = expr.evaluate(config)
            except ExprError as exc:
                raise Infeasible(f"constraint {expr.source!r}: {exc}") from None
            if not ok:
                raise Infeasible(f"violates {expr.source!r}")
        return config

    def canonical(self, config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
        """A hashable form of a config where 0.30000000000000004 equals 0.3."""
        items = []
        for key in sorted(config):
            value = config[key]
            p = self.params.get(key)
            if isinstance(value, float):
                if isinstance(p, FloatParam) and p.step is not None:
                    value = snap(value, p.low, p.step)
                value = float(f"{value:.12g}")
            items.append((key, value))
        return tuple(items)


def grid_count(low: float, high: float, step: float) -> int:
    """Points of ``float_grid(low, high, step)``, in constant time and memory."""
    d_low, d_step = Decimal(repr(low)), Decimal(repr(step))
    return int((Decimal(repr(high)) - d_low) / d_step + Decimal("1e-9")) + 1


def grid_top(low: float, high: float, step: float) -> float:
    """The last point of the grid (equal to ``high`` when ``step`` divides the range)."""
    n = grid_count(low, high, step) - 1
    return float(Decimal(repr(low)) + Decimal(repr(step)) * n)


def float_grid(low: float, high: float, step: float) -> list[float]:
    """``low, low+step, ... <= high`` without float drift (0.1 + 0.2 stays 0.3)."""
    d_low, d_step = Decimal(repr(low)), Decimal(repr(step))
    return [float(d_low + d_step * i) for i in range(grid_count(low, high, step))]


def snap(value: float, low: float, step: float) -> float:
    k = round((value - low) / step)
    return float(Decimal(repr(low)) + Decimal(repr(step)) * k)


def _tidy(value: Any) -> Any:
    """Derived values like ``d_model * 4.0`` come back as 256 rather than 256.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def compile_space(spec: Spec) -> tuple[SearchSpace, list[SpaceIssue]]:
    """Compile expressions and order derived params; return every problem found."""
    issues: list[SpaceIssue] = []
    known = set(spec.space) | set(spec.fixed) | set(spec.derived)
    if spec.budgets is not None:  # derived params may scale with the budget
        known.add(spec.budgets.param)
    parsed: dict[str, Expr] = {}
    for name, source in spec.derived.items():
        try:
            expr = parse(source)
        except ExprError as exc:
            issues.append(SpaceIssue(("derived", name), str(exc)))
            continue
        unknown = sorted(expr.names - known)
        if unknown:
            issues.append(SpaceIssue(("derived", name), f"unknown name(s): {', '.join(unknown)}"))
            continue
        parsed[name] = expr
    order = _topological(parsed, issues)
    constraints: list[Expr] = []
    for i, source in enumerate(spec.constraints):
        try:
            expr = parse(source)
        except ExprError as exc:
            issues.append(SpaceIssue(("constraints", i), str(exc)))
            continue
        unknown = sorted(expr.names - known)
        if unknown:
            issues.append(SpaceIssue(("constraints", i), f"unknown name(s): {', '.join(unknown)}"))
            continue
        constraints.append(expr)
    space = SearchSpace(
        params=dict(spec.space),
        fixed=dict(spec.fixed),
        derived=[(n, parsed[n]) for n in order],
        constraints=constraints,
    )
    if not issues:
        issues += _probe(space, spec)
    return space, issues


def _probe(space: SearchSpace, spec: Spec) -> list[SpaceIssue]:
    """Evaluate every expression once, at the low corner of the space: one that breaks a
    bound there (``x ** 64**64``) is reported now, not met by the runner."""
    config: dict[str, Any] = {**space.fixed}
    for name, p in space.params.items():
        config[name] = p.choices[0] if isinstance(p, CategoricalParam) else getattr(p, "low", False)
    if spec.repeats is not None:
        config[spec.repeats.param] = spec.repeats.seeds[0]
    if spec.budgets is not None:
        config[spec.budgets.param] = spec.budgets.tiers[0]
    out: list[SpaceIssue] = []
    checks: list[tuple[tuple[str | int, ...], Expr, str | None]]
    checks = [(("derived", n), e, n) for n, e in space.derived]
    checks += [(("constraints", i), e, None) for i, e in enumerate(space.constraints)]
    for loc, expr, target in checks:
        try:
            value = expr.evaluate(config)
        except ExprLimit as exc:
            out.append(SpaceIssue(loc, str(exc)))
            continue
        except ExprError:
            continue  # e.g. a division by zero at this corner only: the runner skips the point
        if target is not None:
            config[target] = value
    return out


def _topological(parsed: dict[str, Expr], issues: list[SpaceIssue]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*chain[chain.index(name) :], name])
            issues.append(SpaceIssue(("derived", name), f"circular definition: {cycle}"))
            return
        state[name] = 1
        for dep in sorted(parsed[name].names):
            if dep in parsed:
                visit(dep, [*chain, name])
        state[name] = 2
        order.append(name)

    for name in parsed:
        visit(name, [])
    return order


def describe_size(space: SearchSpace) -> str:
    """One phrase for ``kttui validate``: '5 params, 96 points (60 feasible)'."""
    n = len(space.params)
    size = space.size()
    if size is None:
        continuous = [k for k in space.params if space.values(k) is None]
        return f"{n} params, continuous ({', '.join(continuous)})"
    feasible = space.feasible_count()
    if feasible is None:
        return f"{n} params, {size:,} points (too many to count feasible ones)"
    if feasible == size:
        return f"{n} params, {size:,} points (all feasible)"
    return f"{n} params, {size:,} points ({feasible:,} feasible)"


def log_ok(low: float) -> bool:
    return low > 0 and math.isfinite(low)
