"""The report's sections, in the order the report shows them.

Each module has ``TITLE`` (how its heading starts) and ``build(ctx) -> Section``;
the Markdown report joins the sections' text and the CSV export writes their
frames, so both come from the same list.
"""

from __future__ import annotations

from kttui.report.sections import (
    baseline,
    budgets,
    configuration,
    convergence,
    coverage,
    duplicates,
    elite,
    failures,
    impact,
    importance,
    recommendations,
    reproducibility,
    seeds,
    statistics,
    summary,
    title,
    top,
    top_param,
    warnings,
)

SECTIONS = [
    title,
    summary,
    configuration,
    statistics,
    top,
    baseline,
    impact,
    importance,
    top_param,
    elite,
    coverage,
    duplicates,
    convergence,
    budgets,
    seeds,
    failures,
    warnings,
    recommendations,
    reproducibility,
]
