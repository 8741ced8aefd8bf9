"""A small safe evaluator for the expressions in specs (``derived`` and ``constraints``).

Specs come from files other people write, so expressions are parsed into a
whitelisted AST and interpreted here; Python's ``eval`` is never used. Only
arithmetic, comparisons, boolean logic, conditionals and a few pure functions
are allowed, and exponentiation is bounded so no expression can hang the runner.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Value = int | float | bool | str


class ExprError(ValueError):
    """An expression could not be parsed or evaluated; the message says why."""


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
    ast.Not: operator.not_,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "round": round,
    "abs": abs,
    "int": int,
    "float": float,
    "sqrt": math.sqrt,
    "log": math.log,
    "log2": math.log2,
    "exp": math.exp,
    "ceil": math.ceil,
    "floor": math.floor,
}
_MAX_POW_EXPONENT = 64


@dataclass(frozen=True)
class Expr:
    """A parsed expression: evaluate it many times, list the names it reads."""

    source: str
    tree: ast.Expression
    names: frozenset[str]

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        try:
            return _eval(self.tree.body, env)
        except ExprError:
            raise
        except ZeroDivisionError:
            raise ExprError(f"division by zero in {self.source!r}") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(f"cannot evaluate {self.source!r}: {exc}") from None


def parse(source: str) -> Expr:
    """Parse ``source`` and reject anything outside the whitelist."""
    if not isinstance(source, str) or not source.strip():
        raise ExprError("expression is empty")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid expression {source!r}: {exc.msg}") from None
    names: set[str] = set()
    for node in ast.walk(tree):
        _check_node(node, source)
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            names.add(node.id)
    return Expr(source=source.strip(), tree=tree, names=frozenset(names))


_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.And,
    ast.Or,
    *_BINOPS,
    *_UNARY,
    *_COMPARE,
)


def _check_node(node: ast.AST, source: str) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise ExprError(f"{type(node).__name__} is not allowed in expression {source!r}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ExprError(f"only these functions are allowed: {allowed} (in {source!r})")
        if node.keywords:
            raise ExprError(f"keyword arguments are not allowed (in {source!r})")
    if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str | bool):
        raise ExprError(f"constant {node.value!r} is not allowed (in {source!r})")


def _eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in ("True", "False"):
            return node.id == "True"
        raise ExprError(f"unknown name {node.id!r}")
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, env), _eval(node.right, env)
        too_big = isinstance(right, int | float) and abs(right) > _MAX_POW_EXPONENT
        if isinstance(node.op, ast.Pow) and too_big:
            raise ExprError(f"exponent {right} is too large")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, env))
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = _eval(value, env)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = _eval(value, env)
            if result:
                return result
        return result
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, env)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, env) else node.orelse, env)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_eval(arg, env) for arg in node.args]
        return FUNCTIONS[node.func.id](*args)
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_eval(elt, env) for elt in node.elts)
    raise ExprError(f"{type(node).__name__} is not allowed")
