"""How the report writes cells, numbers and tables: one Markdown table writer for every section."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from kttui.analysis.values import format_p, format_value

#: Longest table a section prints before it says "N more in the CSV export".
MAX_ROWS = 20


def _cell(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    text = value if isinstance(value, str) else format_value(value)
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool] | None = None
) -> str:
    """A GitHub table; columns flagged in ``numeric`` are right-aligned."""
    align = numeric or [False] * len(headers)
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "| " + " | ".join("---:" if a else "---" for a in align) + " |",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _v(x: float) -> str:
    """An objective value: 4 significant digits (0.7193, 12.35, 1.235e+04)."""
    return "—" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _d(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:+.4g}"


def _p(p: float) -> str:
    return format_p(p, decimals=3, missing="—")


def _pct(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.1%}"


def _seconds(s: float) -> str:
    if s is None or not math.isfinite(s):
        return "—"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _more(n_total: int, n_shown: int, what: str) -> str:
    return f"\n\n*{n_total - n_shown} more {what} in the CSV export.*" if n_total > n_shown else ""


def _fence(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text.rstrip()}\n```"


def _config(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items())
