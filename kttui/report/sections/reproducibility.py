"""Reproducibility: the report command, each trial's command and the spec."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from kttui.analysis.overview import Analysis
from kttui.analysis.table import TrialFrame
from kttui.recommend.yamlstyle import spec_yaml
from kttui.report.format import MAX_ROWS, _fence, _more, _trial
from kttui.report.section import Context, Section

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Reproducibility"


def build(ctx: Context) -> Section:
    return Section(TITLE, _reproducibility(ctx.analysis, ctx.spec, ctx.command))


def _reproducibility(
    a: Analysis, spec: Mapping[str, Any] | None, command: Sequence[str] | None
) -> str:
    out = ["## Reproducibility", ""]
    if command:
        out.append("Report generated with:\n")
        out.append(_fence(shlex.join(command), "sh"))
    else:
        out.append("The command that produced this report was not recorded.")
    if spec:
        run = spec.get("command")
        if run:
            out.append("\nEach trial ran (placeholders filled from its params):\n")
            out.append(_fence(shlex.join(str(x) for x in run), "sh"))
        out.append(_trial_commands(a.table))
        out.append("\nThe spec of the sweep:\n")
        out.append(_fence(spec_yaml(spec), "yaml"))
    else:
        out.append(
            "\nNo spec given: the trials were imported, so the exact training command is unknown."
        )
    return "\n".join(out)


def _trial_commands(t: TrialFrame) -> str:
    """Each trial's own lines (cwd, the env kttui set, placeholders filled), recorded at launch."""
    if "command" not in t.df.columns:
        return ""
    rows = t.df[[isinstance(c, str) and bool(c) for c in t.df["command"]]]
    if rows.empty:
        return ""
    shown = rows.head(MAX_ROWS)
    text = "\n\n".join(
        f"# trial {_trial(t, r['number'])}\n{r['command']}" for _, r in shown.iterrows()
    )
    head = "\nTo re-run a trial by hand (its working directory, the variables kttui set):\n"
    return head + "\n" + _fence(text, "sh") + _more(len(rows), len(shown), "trials")
