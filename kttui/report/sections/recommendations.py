"""Recommendations: findings, refined next specs and supplementary trials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from kttui.analysis.findings import findings
from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.recommend.proposals import Proposal, proposals_yaml, supplementary_trials
from kttui.recommend.refine import refined_specs
from kttui.report.format import _fence
from kttui.report.section import Context, Section
from kttui.safetext import md_escape

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Recommendations"


def build(ctx: Context) -> Section:
    a = ctx.analysis
    # Computed once: the Markdown and the CSV show the same proposals.
    proposals = (
        supplementary_trials(a.table, analysis=a, base_spec=ctx.spec) if a.summary.n_valued else []
    )
    frames = (
        {
            "proposals": pd.DataFrame.from_records(
                [{"id": p.label, "kind": p.kind, "reason": p.reason, **p.config} for p in proposals]
            )
        }
        if a.summary.n_valued
        else {}
    )
    return Section(TITLE, _recommendations(a, ctx.spec, proposals), frames)


def _findings(a: Analysis) -> list[str]:
    out = []
    for f in findings(a):
        tag = {
            "strong": "",
            "suggestive": " *(suggestive)*",
            "weak": " *(not significant)*",
            "fact": "",
        }[f.strength]
        out.append(f"- {md_escape(f.text)}{tag} — *{md_escape(f.evidence)}*")  # plain prose
    return out


def _recommendations(a: Analysis, spec: Mapping[str, Any] | None, proposals: list[Proposal]) -> str:
    t = a.table
    out = ["## Recommendations", "", "### Findings", "", *_findings(a)]
    out.append("\n### Refined next spec\n")
    if a.summary.n_valued == 0 or not t.params:
        out.append("Not generated: no completed trial to learn from.")
    else:
        aggressive, conservative = refined_specs(t, spec, analysis=a)
        out.append(
            "**Option A — aggressive:** fix what the elite agrees on, narrow to the elite range.\n"
        )
        out.append(_fence(aggressive.yaml_text, "yaml"))
        out.append(
            "\n**Option B — conservative:** fix only what a test supports, wider "
            "margins, explore never-varied params.\n"
        )
        out.append(_fence(conservative.yaml_text, "yaml"))
    out.append("\n### Supplementary trials\n")
    if not proposals:
        out.append(
            "None proposed: no untested in-between value, extreme or combination near "
            "the best config."
        )
    else:
        rows = [[p.label, p.kind, p.reason] for p in proposals]
        out.append(md_table(["Id", "Kind", "Why"], rows))
        out.append("\nAs a spec running exactly these configs:\n")
        out.append(_fence(proposals_yaml(t, proposals, spec), "yaml"))
    return "\n".join(out)
