"""What every report section gets (the analysis and the spec) and gives back (text and tables)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from kttui.analysis.overview import Analysis


@dataclasses.dataclass(frozen=True)
class Context:
    """One analysis shared by all sections, so no section recomputes what another used."""

    analysis: Analysis
    spec: Mapping[str, Any] | None = None
    top_n: int = 10
    command: Sequence[str] | None = None


@dataclasses.dataclass(frozen=True)
class Section:
    """A section's Markdown and the tables behind it: the CSV export writes ``frames``,
    so it shows what the Markdown shows."""

    title: str
    markdown: str
    frames: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)
