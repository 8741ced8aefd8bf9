"""A small safe evaluator for the expressions in specs (``derived`` and ``constraints``).

Specs come from files other people write, so expressions are parsed into a
whitelisted AST and interpreted here; Python's ``eval`` is never used. Only
arithmetic, comparisons, boolean logic, conditionals and a few pure functions
are allowed, and every expression is bounded so none can hang the runner or
fill its memory: its source length and nesting depth (checked without recursion,
so a 5 000-term sum is an error, not a ``RecursionError``), the bits of every
integer (``9**64**64`` is refused before it is computed) and the length of every
string or tuple (``'a' * 2**40`` too). Evaluating a parsed expression therefore
costs at most a few thousand small steps.
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


class ExprLimit(ExprError):
    """An expression would exceed a bound (a huge power, a long repetition)."""


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
    "round": lambda x, n=None: round(x) if n is None else round(x, _digits(n)),
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


def _digits(n: Any) -> Any:
    """``round(5, -10**10)`` would compute 10**(10**10): keep ``ndigits`` small."""
    if isinstance(n, int) and abs(n) > 400:
        raise ExprLimit(f"round to {_num(n)} digits is not allowed")
    return n


#: Bounds on what an expression may be and compute (see the module docstring).
MAX_SOURCE = 2000
MAX_DEPTH = 50
MAX_INT_BITS = 4096
MAX_LENGTH = 10_000


@dataclass(frozen=True)
class Expr:
    """A parsed expression: evaluate it many times, list the names it reads."""

    source: str
    tree: ast.Expression
    names: frozenset[str]

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        return _run(self.tree.body, env, self.source)


def _run(node: ast.expr, env: Mapping[str, Any], source: str) -> Any:
    """Evaluate with every failure turned into a one-line :class:`ExprError`."""
    try:
        return _bounded(_eval(node, env))
    except ExprError:
        raise
    except ZeroDivisionError:
        raise ExprError(f"division by zero in {_short(source)}") from None
    except (TypeError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        raise ExprError(f"cannot evaluate {_short(source)}: {exc}") from None


def parse(source: str) -> Expr:
    """Parse ``source`` and reject anything outside the whitelist or the bounds."""
    if not isinstance(source, str) or not source.strip():
        raise ExprError("expression is empty")
    if len(source) > MAX_SOURCE:
        raise ExprError(f"expression is longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid expression {_short(source)}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError(f"expression is nested too deeply ({_short(source)})") from None
    names: set[str] = set()
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:  # iterative: a deep tree must not recurse here either
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExprError(
                f"expression is nested more than {MAX_DEPTH} levels deep ({_short(source)})"
            )
        _check_node(node, source)
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            names.add(node.id)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    if _fold_constants(tree.body):
        _eval_constant(tree.body)
    return Expr(source=source.strip(), tree=tree, names=frozenset(names))


def _fold_constants(node: ast.AST) -> bool:
    """Evaluate every part that reads no name now, so ``'a' * 2**40`` or ``9**64**64``
    is an error when the spec is validated, not when the runner meets it.
    Returns whether ``node`` reads no name (the depth is already bounded)."""
    if isinstance(node, ast.Name):
        return node.id in FUNCTIONS or node.id in ("True", "False")
    flags = [_fold_constants(child) for child in ast.iter_child_nodes(node)]
    if all(flags):
        return True
    for child, constant in zip(ast.iter_child_nodes(node), flags, strict=True):
        if constant and isinstance(child, ast.expr) and not isinstance(child, ast.Name):
            _eval_constant(child)
    return False


def _eval_constant(node: ast.expr) -> None:
    _run(node, {}, ast.unparse(node))


def _num(value: Any) -> str:
    """A number for a message: a huge integer as its size, not its 1 000 digits."""
    if isinstance(value, int) and abs(value).bit_length() > 64:
        return f"(a {abs(value).bit_length()}-bit number)"
    return repr(value)


def _short(source: str) -> str:
    """The expression as messages quote it: one line, at most 60 characters."""
    text = repr(source.strip())
    return text if len(text) <= 60 else text[:57] + "..."


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
        raise ExprError(f"{type(node).__name__} is not allowed in expression {_short(source)}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ExprError(f"only these functions are allowed: {allowed} (in {_short(source)})")
        if node.keywords:
            raise ExprError(f"keyword arguments are not allowed (in {_short(source)})")
    if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str | bool):
        raise ExprError(f"constant {node.value!r} is not allowed (in {_short(source)})")


def _binop(op: ast.operator, left: Any, right: Any) -> Any:
    """One arithmetic step, refused before it could build something huge."""
    ints = isinstance(left, int) and isinstance(right, int)
    if isinstance(op, ast.Pow) and isinstance(right, int | float):
        if abs(right) > _MAX_POW_EXPONENT:
            raise ExprLimit(f"exponent {_num(right)} is too large")
        if ints and right > 0 and abs(left).bit_length() * right > MAX_INT_BITS:
            raise ExprLimit(f"{_num(left)} ** {_num(right)} is too large")
    if isinstance(op, ast.Mult):
        for seq, count in ((left, right), (right, left)):
            if (
                isinstance(seq, str | tuple)
                and isinstance(count, int)
                and len(seq) * count > MAX_LENGTH
            ):
                raise ExprLimit(f"a repetition longer than {MAX_LENGTH} is not allowed")
        if ints and abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS:
            raise ExprLimit(f"a number over {MAX_INT_BITS} bits is not allowed")
    if isinstance(op, ast.Mod) and isinstance(left, str):
        raise ExprError("string formatting with % is not allowed")
    return _bounded(_BINOPS[type(op)](left, right))


def _bounded(value: Any) -> Any:
    if isinstance(value, complex):
        raise ExprError("the result is a complex number")
    if isinstance(value, int) and abs(value).bit_length() > MAX_INT_BITS:
        raise ExprLimit(f"a number over {MAX_INT_BITS} bits is not allowed")
    if isinstance(value, str | tuple) and len(value) > MAX_LENGTH:
        raise ExprLimit(f"a value longer than {MAX_LENGTH} is not allowed")
    return value


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
        return _binop(node.op, _eval(node.left, env), _eval(node.right, env))
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
        return _bounded(FUNCTIONS[node.func.id](*args))
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_eval(elt, env) for elt in node.elts)
    raise ExprError(f"{type(node).__name__} is not allowed")
