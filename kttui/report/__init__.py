"""The Markdown sweep report (and its tables as CSV).

Every section of the hand-written reports (seeds 000-004) is here, computed
from the trials, one module per section in :mod:`kttui.report.sections`. A
section that does not apply says so in one line instead of disappearing, so two
reports always have the same outline. Charts are plotext text in fenced blocks:
they read the same on GitHub and in a terminal. Each section gives its Markdown
and its tables together, so the CSV export shows what the report shows.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kttui.analysis.overview import Analysis, analyze
from kttui.analysis.table import TrialFrame, space_from_spec
from kttui.mdtable import md_table
from kttui.report.format import _one_line_text
from kttui.report.section import Context, Section
from kttui.report.sections import SECTIONS
from kttui.report.sections.elite import _elite
from kttui.report.sections.recommendations import _findings
from kttui.safetext import strip_controls

__all__ = [
    "SECTIONS",
    "Section",
    "build_sections",
    "export_csv",
    "markdown_of",
    "md_table",
    "recommendations_analysis",
    "render_analysis",
    "render_recommendations",
    "render_report",
    "report_sections",
]


def _with_spec(table: TrialFrame, spec: Mapping[str, Any] | None) -> TrialFrame:
    """Fill what the table lacks (space, baseline, target, fixed) from the spec."""
    if not spec:
        return table
    changes: dict[str, Any] = {}
    if not table.space and spec.get("space"):
        # A malformed space only costs the report its declared bounds.
        with contextlib.suppress(KeyError, TypeError, ValueError):
            declared = space_from_spec(spec["space"])
            changes["space"] = {k: v for k, v in declared.items() if k in table.params}
    baseline = spec.get("baseline") or {}
    if (
        table.baseline is None
        and isinstance(baseline, Mapping)
        and baseline.get("value") is not None
    ):
        changes["baseline"] = float(baseline["value"])
    if table.target is None and spec.get("target") is not None:
        changes["target"] = float(spec["target"])
    if not table.fixed and spec.get("fixed"):
        changes["fixed"] = dict(spec["fixed"])
    if not table.name and spec.get("name"):
        changes["name"] = str(spec["name"])
    return dataclasses.replace(table, **changes) if changes else table


def _baseline_params(spec: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    baseline = (spec or {}).get("baseline") or {}
    params = baseline.get("params") if isinstance(baseline, Mapping) else None
    return dict(params) if params else None


def render_report(
    table: TrialFrame,
    *,
    spec: dict[str, Any] | None = None,
    top_n: int = 10,
    command: list[str] | None = None,
    baseline: Mapping[str, Any] | int | None = None,
) -> str:
    """The full Markdown report of ``table``.

    ``spec`` is the sweep's spec as a plain dict (space, baseline params, command);
    ``baseline`` overrides the spec's baseline config with a param dict or a
    trial number; ``command`` is recorded in the reproducibility section.
    """
    return markdown_of(
        report_sections(table, spec=spec, top_n=top_n, command=command, baseline=baseline)
    )


def report_sections(
    table: TrialFrame,
    *,
    spec: Mapping[str, Any] | None = None,
    top_n: int = 10,
    command: Sequence[str] | None = None,
    baseline: Mapping[str, Any] | int | None = None,
) -> list[Section]:
    """The report's sections (Markdown and tables): :func:`render_report` joins their text,
    :func:`export_csv` writes their tables; ``kttui report`` builds them once for both."""
    table = _with_spec(table, spec)
    analysis = analyze(
        table,
        top_n_rows=top_n,
        baseline_params=baseline if baseline is not None else _baseline_params(spec),
    )
    return build_sections(analysis, spec=spec, top_n=top_n, command=command)


def recommendations_analysis(table: TrialFrame, *, spec: dict[str, Any] | None = None) -> Analysis:
    """The analysis behind the advice pane (the console also draws its importance)."""
    return analyze(_with_spec(table, spec), baseline_params=_baseline_params(spec))


def render_recommendations(
    table: TrialFrame, *, spec: dict[str, Any] | None = None, analysis: Analysis | None = None
) -> str:
    """The console's advice pane: the report's findings and elite analysis, same functions."""
    a = analysis if analysis is not None else recommendations_analysis(table, spec=spec)
    return "\n".join(["## Findings", "", *_findings(a), "", _elite(a)])


def render_analysis(
    analysis: Analysis,
    *,
    spec: Mapping[str, Any] | None = None,
    top_n: int = 10,
    command: Sequence[str] | None = None,
) -> str:
    """Render an already computed :class:`Analysis` (the TUI keeps one around)."""
    return markdown_of(build_sections(analysis, spec=spec, top_n=top_n, command=command))


def build_sections(
    analysis: Analysis,
    *,
    spec: Mapping[str, Any] | None = None,
    top_n: int = 10,
    command: Sequence[str] | None = None,
) -> list[Section]:
    """Every section of :data:`SECTIONS`, in order, from one analysis."""
    ctx = Context(analysis=analysis, spec=spec, top_n=top_n, command=command)
    return [section.build(ctx) for section in SECTIONS]


def markdown_of(sections: Sequence[Section]) -> str:
    """The report's text: the sections joined, no escape or control sequence left in."""
    return strip_controls("\n\n".join(s.markdown.rstrip() for s in sections if s.markdown) + "\n")


# ------------------------------------------------------------------- export
def export_csv(
    table: TrialFrame,
    directory: str | Path,
    *,
    spec: dict[str, Any] | None = None,
    analysis: Analysis | None = None,
    sections: Sequence[Section] | None = None,
) -> list[Path]:
    """Write every table of the report as CSV into ``directory``; returns the files written.

    ``sections`` (from :func:`report_sections`) reuses what the Markdown report was
    built from; without them the sections are built here.
    """
    if sections is None:
        table = _with_spec(table, spec)
        a = analysis or analyze(table, baseline_params=_baseline_params(spec))
        sections = build_sections(a, spec=spec)
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for section in sections:
        for name, frame in section.frames.items():
            path = out_dir / f"{name}.csv"
            _one_line_text(frame).to_csv(path, index=False)
            written.append(path)
    return written
