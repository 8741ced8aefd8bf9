"""How the report writes numbers, durations, p-values and trial ids (tables: kttui/mdtable.py)."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from kttui.analysis.overview import Analysis
from kttui.analysis.table import TrialFrame
from kttui.analysis.values import format_p
from kttui.mdtable import cell
from kttui.mdtable import md_value as format_value
from kttui.safetext import one_line

#: Longest table a section prints before it says "N more in the CSV export".
MAX_ROWS = 20


def _one_line_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV export's text cells and headers without escapes, controls or line breaks."""
    out = frame.rename(columns=lambda c: one_line(c) if isinstance(c, str) else c)
    for col in [c for c in out.columns if out[c].dtype.kind in "OUS" or out[c].dtype == "string"]:
        out[col] = out[col].map(lambda v: one_line(v) if isinstance(v, str) else v)
    return out


@dataclasses.dataclass(frozen=True)
class Numbers:
    """Numbers in the objective's units, all at the sweep's one precision.

    A report compares values, effects, spreads and gaps with each other, so they
    share their decimals (``Summary.decimals``): "0.7186" beside "+0.0002", never
    beside "+0.0002375". Without decimals (a metric near 1e-9 or 1e12), and for
    magnitudes too large for fixed decimals, 4 significant digits (1e+308).
    """

    decimals: int | None

    def v(self, x: float | None) -> str:
        """A value (or spread, or gap): 0.7186."""
        return self._fixed(x, "")

    def d(self, x: float | None) -> str:
        """A difference, always signed: +0.0012 (one that rounds to zero reads 0.0000)."""
        return self._fixed(x, "+")

    def _fixed(self, x: float | None, sign: str) -> str:
        if x is None or not math.isfinite(x):
            return "—"
        if self.decimals is None or abs(x) >= LARGE:
            return f"{x:{sign}.4g}"
        text = f"{x:{sign}.{self.decimals}f}"
        return text.lstrip("+-") if float(text) == 0 else text


#: From here on, fixed decimals would write long rows of digits: 4 significant digits.
LARGE = 1e7


def numbers(a: Analysis) -> Numbers:
    return Numbers(a.summary.decimals)


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
    run = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)  # a value's ``` stays in
    fence = "`" * (run + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _config(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items())


def _trial(t: TrialFrame, number: Any) -> str:
    """``#N``, with the user's own id beside it (imported trials: the ``--id`` column)."""
    n = int(number)
    if "label" in t.df.columns:
        hit = t.df.loc[t.df["number"] == n, "label"]
        if len(hit) and isinstance(hit.iloc[0], str) and hit.iloc[0]:
            return f"#{n} ({cell(hit.iloc[0])})"
    return f"#{n}"
