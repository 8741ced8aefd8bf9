"""Two params against each other: the mean objective and trial count per cell.

The pair coverage of :mod:`kttui.analysis.coverage` made visual: a discrete
param keeps its values as they were declared (untested ones included, from the
same :func:`~kttui.analysis.coverage.grid_values`), a continuous one is cut
into a few bins (log-spaced for ``log: true`` params). Cells no completed trial
fell in are the untested combinations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from kttui.analysis.coverage import grid_values
from kttui.analysis.table import TrialFrame
from kttui.analysis.values import is_number
from kttui.safetext import format_value

#: A declared grid with more values than this is binned instead.
MAX_LEVELS = 10
BINS = 6


@dataclass(frozen=True)
class Axis:
    param: str
    labels: list[str]
    #: discrete values (None when binned) and bin edges (None when discrete)
    values: list[Any] | None
    edges: list[float] | None

    def index(self, value: Any) -> int | None:
        if value is None:
            return None
        if self.values is not None:
            return self.values.index(value) if value in self.values else None
        if self.edges is None or not is_number(value) or not math.isfinite(float(value)):
            return None
        x = float(value)
        if x < self.edges[0] or x > self.edges[-1]:
            return None
        i = int(np.searchsorted(self.edges, x, side="right")) - 1
        return min(max(i, 0), len(self.edges) - 2)


@dataclass(frozen=True)
class PairGrid:
    x: Axis
    y: Axis
    mean: list[list[float | None]]  # [y][x]
    count: list[list[int]]  # [y][x]
    maximize: bool

    @property
    def untested(self) -> int:
        return sum(1 for row in self.count for n in row if n == 0)

    def span(self) -> tuple[float, float] | None:
        """Lowest and highest cell mean (None when no cell has a trial)."""
        means = [m for row in self.mean for m in row if m is not None]
        return (min(means), max(means)) if means else None


def _axis(table: TrialFrame, param: str) -> Axis | None:
    grid = grid_values(table, param)
    if grid is not None and 0 < len(grid[0]) <= MAX_LEVELS:
        values = list(grid[0])
        return Axis(param, [format_value(v) for v in values], values, None)
    present = [
        float(v) for v in table.canonical_values(param) if is_number(v) and math.isfinite(float(v))
    ]
    info = table.info(param)
    lo = info.low if info.low is not None else (min(present) if present else None)
    hi = info.high if info.high is not None else (max(present) if present else None)
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return None
    if info.log and lo > 0:
        edges = list(np.geomspace(lo, hi, BINS + 1))
    else:
        edges = list(np.linspace(lo, hi, BINS + 1))
    labels = [format_value(float(f"{e:.2g}")) for e in edges[:-1]]
    return Axis(param, labels, None, [float(e) for e in edges])


def pair_grid(table: TrialFrame, a: str, b: str) -> PairGrid | None:
    """Mean objective and count per (a, b) cell of the completed trials; None if not drawable."""
    if a not in table.params or b not in table.params or a == b:
        return None
    x, y = _axis(table, a), _axis(table, b)
    if x is None or y is None:
        return None
    done = table.completed
    sums = [[0.0] * len(x.labels) for _ in y.labels]
    count = [[0] * len(x.labels) for _ in y.labels]
    values = done["value"].to_numpy(dtype=float)
    for va, vb, v in zip(
        table.canonical_values(a, done), table.canonical_values(b, done), values, strict=True
    ):
        i, j = x.index(va), y.index(vb)
        if i is None or j is None or not math.isfinite(v):
            continue
        sums[j][i] += v
        count[j][i] += 1
    mean = [
        [sums[j][i] / count[j][i] if count[j][i] else None for i in range(len(x.labels))]
        for j in range(len(y.labels))
    ]
    return PairGrid(x, y, mean, count, table.direction == "maximize")
