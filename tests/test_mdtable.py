"""kttui.mdtable: the one Markdown table writer (report, advice, README spec reference)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from kttui.docs import spec_reference
from kttui.mdtable import cell, md_table


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        ("a|b", "a\\|b"),  # a pipe never opens a column
        ("a\\|b", "a\\|b"),  # one already escaped is not escaped twice
        ("two\nlines\r\n", "two lines "),  # a line break never ends the row
        ("<script>", "&lt;script&gt;"),
        ("**bold** `code`", "**bold** `code`"),  # text is Markdown the caller wrote
        ("\x1b[31mred", "red"),
        (0.71234, "0.7123"),
        (256.0, "256"),
        (1e308, "1e+308"),
        (None, "—"),
        (math.nan, "—"),
        (math.inf, "—"),  # no value worth a cell
        (True, "True"),
        (["a|b"], "\\['a\\|b'\\]"),  # any other value: formatted, then escaped
    ],
)
def test_cell(value: Any, text: str) -> None:
    assert cell(value) == text


def test_table_shape_and_alignment() -> None:
    table = md_table(["param", "value"], [["lr", 0.001], ["a|b", None]], [False, True])
    assert table.splitlines() == [
        "| param | value |",
        "| --- | ---: |",
        "| lr | 0.001 |",
        "| a\\|b | — |",
    ]


def test_empty_table_has_its_header() -> None:
    assert md_table(["a"], []) == "| a |\n| --- |"


def test_every_row_of_the_spec_reference_has_four_cells() -> None:
    """The README's reference is written by the same writer: no description breaks a row."""
    for line in spec_reference().splitlines():
        if line.startswith("|"):
            inner = line[1:-1].replace("\\|", "")
            assert inner.count("|") == 3, line
