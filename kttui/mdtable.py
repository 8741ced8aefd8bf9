"""Markdown pipe tables: the one writer for the report, the console's advice and the README.

A table cell must stay one cell whatever a trial or an import put in it: no line
break, no ``|`` that opens a column, no HTML. Text that already is Markdown (a
section's **bold**, a code span) goes through :func:`kttui.safetext.md_cell`,
any other value is written by :func:`kttui.safetext.format_value` and escaped,
so every table shows numbers the way the rest of the report does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kttui.safetext import MISSING, format_value, md_cell, md_escape


def md_value(value: Any) -> str:
    """A value as report prose and cells show it: compact, escaped for Markdown and HTML."""
    return md_escape(format_value(value))


def cell(value: Any) -> str:
    """One table cell: text as Markdown, a number as the report writes it, inf/NaN as —."""
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING
    return md_cell(value) if isinstance(value, str) else md_value(value)


def md_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool] | None = None
) -> str:
    """A GitHub table; columns flagged in ``numeric`` are right-aligned."""
    align = numeric or [False] * len(headers)
    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "| " + " | ".join("---:" if a else "---" for a in align) + " |",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
