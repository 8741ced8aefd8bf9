import pytest

from kttui.expr import ExprError, parse


@pytest.mark.parametrize(
    ("source", "env", "expected"),
    [
        ("d_model * 4", {"d_model": 64}, 256),
        ("d_model % n_heads == 0", {"d_model": 64, "n_heads": 3}, False),
        ("min(a, b) + max(a, b)", {"a": 1, "b": 5}, 6),
        ("round(lr * 1000, 2)", {"lr": 0.0012345}, 1.23),
        ("x if flag else -x", {"x": 2, "flag": False}, -2),
        ("a < b <= c", {"a": 1, "b": 2, "c": 2}, True),
        ("not (a or b)", {"a": 0, "b": 0}, True),
        ("model in ('dkt', 'sakt')", {"model": "sakt"}, True),
        ("2 ** 10", {}, 1024),
    ],
)
def test_evaluates(source: str, env: dict, expected: object) -> None:
    assert parse(source).evaluate(env) == expected


def test_names_exclude_functions() -> None:
    assert parse("max(d_model, 4) * n").names == {"d_model", "n"}


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('x')",
        "open('f')",
        "a.b",
        "[x for x in y]",
        "lambda: 1",
        "a[0]",
        "f(x=1)",
        "eval('1')",
        "",
    ],
)
def test_rejects_unsafe(source: str) -> None:
    with pytest.raises(ExprError):
        parse(source)


def test_runtime_errors_are_expr_errors() -> None:
    with pytest.raises(ExprError, match="division by zero"):
        parse("a / b").evaluate({"a": 1, "b": 0})
    with pytest.raises(ExprError, match="unknown name"):
        parse("a + c").evaluate({"a": 1})
    with pytest.raises(ExprError, match="too large"):
        parse("2 ** 1000000").evaluate({})
