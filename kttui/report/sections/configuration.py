"""Configuration: the search space (declared or inferred), fixed values, strategy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kttui.analysis.overview import Analysis
from kttui.mdtable import md_table
from kttui.report.format import format_value
from kttui.report.section import Context, Section
from kttui.safetext import format_value as plain_value
from kttui.safetext import md_code

#: How the section's heading starts (tests check every report has each, in order).
TITLE = "## Configuration"


def build(ctx: Context) -> Section:
    return Section(TITLE, _configuration(ctx.analysis, ctx.spec))


def _configuration(a: Analysis, spec: Mapping[str, Any] | None) -> str:
    t = a.table
    out = ["## Configuration", ""]
    if spec and spec.get("space"):
        rows = [[p, *_space_cells(entry)] for p, entry in spec["space"].items()]
        out.append("Search space (from the spec):\n")
    else:
        out.append(
            "No spec given: the space below is what the trials show (kinds inferred from values).\n"
        )
        rows = []
        for p in t.params:
            info = t.info(p)
            values = t.distinct(p)
            shown = ", ".join(format_value(v) for v in values[:8]) + (
                " …" if len(values) > 8 else ""
            )
            rows.append(
                [
                    p,
                    info.kind,
                    shown
                    if len(values) <= 12
                    else f"[{format_value(info.low)}, {format_value(info.high)}]",
                    "yes" if info.log else "",
                    "",
                ]
            )
    out.append(md_table(["Param", "Type", "Range / choices", "Log", "Step"], rows))
    fixed = dict((spec or {}).get("fixed") or t.fixed)
    out.append("")
    if fixed:
        out.append(
            "Fixed: " + ", ".join(md_code(f"{k}={plain_value(v)}") for k, v in fixed.items())
        )
    else:
        out.append("Fixed: none recorded.")
    if spec:
        for key in ("derived", "constraints", "strategy", "pruner"):
            value = spec.get(key)
            if value:
                out.append("")
                out.append(f"{key.capitalize()}: {_inline(value)}")
    return "\n".join(out)


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(
            md_code(f"{k}: {plain_value(v) if not isinstance(v, list | dict) else v}")
            for k, v in value.items()
        )
    if isinstance(value, list):
        return ", ".join(md_code(str(v)) for v in value)
    return md_code(str(value))


def _space_cells(entry: Mapping[str, Any]) -> list[str]:
    kind = str(entry.get("type", ""))
    if kind == "categorical":
        return [kind, ", ".join(format_value(c) for c in entry.get("choices") or []), "", ""]
    if kind == "bool":
        return [kind, "true, false", "", ""]
    return [
        kind,
        f"[{format_value(entry.get('low'))}, {format_value(entry.get('high'))}]",
        "yes" if entry.get("log") else "",
        format_value(entry["step"]) if entry.get("step") is not None else "",
    ]
