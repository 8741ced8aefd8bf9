"""plotext charts as plain text (no colour), for fenced blocks that read the same everywhere."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

CHART_WIDTH = 72
CHART_HEIGHT = 16
#: Charts plot at most this many points (evenly sampled, best point kept).
MAX_CHART_POINTS = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _build_chart(draw: Any) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(CHART_WIDTH, CHART_HEIGHT)
    plt.theme("clear")
    try:  # plotext fails on extreme values (1e308): the report goes on without the chart
        draw(plt)
        text = str(plt.build())
    except Exception as exc:
        return f"(chart not drawn: {type(exc).__name__})"
    finally:
        plt.clear_figure()
    return "\n".join(line.rstrip() for line in _ANSI.sub("", text).splitlines())


def _thin(x: np.ndarray, keep: int | None = None) -> np.ndarray:
    """Indices of at most MAX_CHART_POINTS evenly spaced points, always keeping ``keep``."""
    if len(x) <= MAX_CHART_POINTS:
        return np.arange(len(x))
    idx = set(np.linspace(0, len(x) - 1, MAX_CHART_POINTS).round().astype(int).tolist())
    if keep is not None:
        idx.add(keep)
    return np.array(sorted(idx))
