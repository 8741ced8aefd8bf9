"""The one format_value and sort_key (kttui/safetext.py) of console, report and advice."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kttui.command import build_argv
from kttui.safetext import MISSING, format_value, is_missing, sort_key


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # missing, however it arrives
        (None, MISSING),
        (math.nan, MISSING),
        (np.float32("nan"), MISSING),
        (pd.NA, MISSING),
        (pd.NaT, MISSING),
        ("", MISSING),
        # infinities are values, not gaps
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        # zero, negative zero
        (0, "0"),
        (0.0, "0"),
        (-0.0, "0"),
        # ints stay ints, also as floats and numpy scalars
        (256, "256"),
        (256.0, "256"),
        (np.int64(256), "256"),
        (np.float64(256.0), "256"),
        (-3, "-3"),
        (123456, "123456"),
        (123456.0, "123456"),
        # 4 significant digits, 3 when very small or large (the console's columns)
        (0.71234, "0.7123"),
        (0.1, "0.1"),
        (0.001, "0.001"),
        (0.00010732, "0.000107"),
        (1e-05, "1e-05"),
        (-0.00012345, "-0.000123"),
        (12.3456, "12.35"),
        (99999.5, "1e+05"),
        (123456.7, "1.23e+05"),
        (np.float32(0.5), "0.5"),
        (Fraction(1, 3), "0.3333"),
        # extreme numbers stay short
        (1e308, "1e+308"),
        (-1e308, "-1e+308"),
        (5e-324, "4.94e-324"),
        (10**15, "1e+15"),
        (10**400, "1e+400"),
        (-(10**400), "-1e+400"),
        (12345678901234567890, "1.234e+19"),
        # bools are categories, not numbers
        (True, "True"),
        (False, "False"),
        (np.bool_(True), "True"),
        # text: one line, no escapes
        ("adam", "adam"),
        ("a\x1b[31mred\x07", "ared"),
        ("two\nlines", "two lines"),
        ("a|b <c>", "a|b <c>"),  # Markdown escaping is the report's (md_escape), not this
        (Decimal("1.5"), "1.5"),
        ([1, 2], "[1, 2]"),
    ],
)
def test_format_value(value: Any, text: str) -> None:
    assert format_value(value) == text


def test_huge_int_does_not_hang_or_overflow() -> None:
    assert format_value(10**5000) in ("1e+5000", "huge")
    assert len(format_value(10**5000)) < 12


@pytest.mark.parametrize(
    ("value", "missing"),
    [
        (None, True),
        (math.nan, True),
        (pd.NA, True),
        (pd.NaT, True),
        (np.datetime64("NaT"), True),
        ("", True),
        (0, False),
        (0.0, False),
        (math.inf, False),
        ("x", False),
        (False, False),
        ([], False),
        (np.array([1.0, math.nan]), False),  # an array is a value
    ],
)
def test_is_missing(value: Any, missing: bool) -> None:
    assert is_missing(value) is missing


def test_sort_key_orders_missing_numbers_bools_text() -> None:
    values = ["b", True, 2, None, -math.inf, 10**400, 0.5, math.nan, "a", False, -0.0, 1e308]
    ordered = sorted(values, key=sort_key)
    assert all(is_missing(v) for v in ordered[:2])
    assert ordered[2:] == [-math.inf, -0.0, 0.5, 2, 1e308, 10**400, False, True, "a", "b"]


def test_sort_key_is_total_on_mixed_types() -> None:
    """Any mix sorts without a TypeError (the console sorts user columns of anything)."""
    mixed = [None, "x", 1, 2.5, True, pd.NA, np.int64(3), [1], Decimal("2"), ""]
    assert len(sorted(mixed, key=sort_key)) == len(mixed)


def test_argv_keeps_exact_values() -> None:
    """Trial commands are not display: 1e-05 stays 1e-05, 0.000107321 keeps every digit."""
    argv = build_argv(["train", "--lr={lr}"], {"lr": 0.000107321, "n": 10**20}, {}, "flags")
    assert argv == ["train", "--lr=0.000107321", "--n", str(10**20)]
