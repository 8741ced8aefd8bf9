"""The Markdown report: every section present, well-formed tables, no crash on odd tables."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kttui.analysis.table import TrialFrame
from kttui.analysis.values import format_p
from kttui.report import export_csv, markdown_of, md_table, render_report, report_sections
from kttui.report.sections import SECTIONS
from tests.synthetic import synthetic_spec, synthetic_table

#: Every heading a report must have, in order: the report's own list of sections.
HEADINGS = [section.TITLE for section in SECTIONS]
SEED000 = Path(__file__).parent / "fixtures" / "seed000_appendix.csv"


def check_markdown(report: str) -> None:
    """All sections, in order; tables with a constant column count; fences closed; no colour."""
    positions = [report.find("\n" + s if not s.startswith("# ") else s) for s in HEADINGS]
    assert all(p >= 0 for p in positions), [
        s for s, p in zip(HEADINGS, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions)
    assert "\x1b[" not in report
    assert report.count("```") % 2 == 0
    in_fence = False
    widths: list[int] = []
    for line in report.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if line.startswith("|"):
            widths.append(len(re.split(r"(?<!\\)\|", line)))
            assert len(set(widths)) == 1, line
        else:
            widths = []


@pytest.fixture(scope="module")
def realistic() -> TrialFrame:
    return synthetic_table(240, seed=3, budgets=("2M", "20M"), seeds_per_config=2)


def test_all_sections_on_a_realistic_sweep(realistic: TrialFrame) -> None:
    spec = synthetic_spec()
    spec["baseline"] = {
        "value": 0.7,
        "params": {"a": 0.5, "b": 0.5, "c": 0.001, "flag": False, "width": 64},
    }
    report = render_report(realistic, spec=spec, command=["kttui", "report", "synthetic"])
    check_markdown(report)
    assert "Not applicable" not in report  # budgets and seeds both apply here
    assert "2M vs 20M" in report
    assert "From seed column" in report
    assert "Option A — aggressive" in report and "Option B — conservative" in report
    assert "sampler: list" in report
    assert "kttui report synthetic" in report
    assert "Spearman" in report and "mann-whitney" in report and "kruskal-wallis" in report
    assert "Baseline (params) vs the best trial" in report
    assert report.count("```yaml") == 4  # two refined specs, the proposals, the sweep's spec


def test_sections_that_do_not_apply_say_so() -> None:
    report = render_report(synthetic_table(60, seed=1))
    check_markdown(report)
    assert "## Budgets\n\nNot applicable" in report
    assert "## Seed noise\n\nNot applicable" in report
    assert "No spec given" in report


def test_seed000_report_is_right_where_the_seed_is_wrong() -> None:
    df = pd.read_csv(SEED000)
    table = TrialFrame.from_dataframe(
        df,
        params=["learning_rate", "d_model", "d_ff", "dropout", "num_encoder_blocks"],
        value_column="test_auc",
        objective="test_auc",
        baseline=0.7181,
    )
    baseline = {
        "learning_rate": 0.000174,
        "d_model": 256,
        "d_ff": 512,
        "dropout": 0.2,
        "num_encoder_blocks": 4,
    }
    report = render_report(table, baseline=baseline)
    check_markdown(report)
    assert "**14/24 better (58.3%)**, 2 equal, 8 worse" in report
    assert "| Range | 0.0172 |" in report
    assert "**learning_rate was never varied** (always 0.0001)" in report
    assert "d_ff=512 was never tested" in report
    assert "| learning_rate | 0.000174 → 0.0001 | no evidence |" in report
    assert "d_model=384 rests on a single trial" in report
    assert "**2 of 26 trials (7.7%)** re-ran" in report


def _edge_tables() -> dict[str, TrialFrame]:
    def rec(i: int, value: float, state: str = "complete", **params: Any) -> dict[str, Any]:
        return {"number": i, "state": state, "value": value, "params": params}

    return {
        "no trials": TrialFrame.from_records([]),
        "no completed": TrialFrame.from_records(
            [
                rec(0, math.nan, "fail", x=1),
                rec(1, math.nan, "running", x=2),
                rec(2, 0.3, "pruned", x=3),
            ]
        ),
        "one trial": TrialFrame.from_records([rec(0, 0.5, x=1, f=True)], baseline=0.4, target=0.9),
        "all equal": TrialFrame.from_records(
            [rec(i, 1.0, x=i % 3, f=bool(i % 2)) for i in range(30)], baseline=1.0
        ),
        "nans": TrialFrame.from_records(
            [
                rec(
                    i,
                    math.nan if i % 4 == 0 else i / 10,
                    x=None if i == 5 else float(i),
                    s="u" if i % 2 else None,
                )
                for i in range(25)
            ]
        ),
        "minimize": synthetic_table(80, seed=4, direction="minimize"),
        "no params": TrialFrame.from_records(
            [{"number": 0, "value": 1.0}, {"number": 1, "value": 2.0}]
        ),
    }


@pytest.mark.parametrize("name", list(_edge_tables()))
def test_edge_cases_render(name: str) -> None:
    table = _edge_tables()[name]
    report = render_report(table, top_n=5)
    check_markdown(report)
    if name in ("no trials", "no completed"):
        assert "No completed trial has a result" in report
    if name == "all equal":
        assert "Every completed trial has the same value" in report
    if name == "nans":
        assert "marked complete but have no objective value" in report
    if name == "minimize":
        assert "(minimize)" in report and "val_auc <=" not in report
        assert re.search(r"score <= -?\d", report)


def test_export_csv(tmp_path: Path, realistic: TrialFrame) -> None:
    written = export_csv(realistic, tmp_path / "out", spec=synthetic_spec())
    names = {p.stem for p in written}
    assert {
        "trials",
        "summary",
        "top",
        "impact",
        "importance",
        "correlations",
        "elite",
        "budgets",
        "seeds",
        "proposals",
    } <= names
    top = pd.read_csv(tmp_path / "out" / "top.csv")
    assert len(top) == 10 and list(top["rank"]) == list(range(1, 11))
    impact = pd.read_csv(tmp_path / "out" / "impact.csv")
    assert set(impact["param"]) == set(realistic.params)


def test_csv_export_writes_the_tables_of_the_sections_the_report_shows(
    tmp_path: Path, realistic: TrialFrame
) -> None:
    sections = report_sections(realistic, spec=synthetic_spec(), top_n=7)
    assert [s.title for s in sections] == HEADINGS
    for section in sections:
        assert section.markdown.startswith(section.title), section.title
    report = markdown_of(sections)
    assert "## Top 7 configurations" in report
    written = export_csv(realistic, tmp_path / "out", sections=sections)
    assert [p.stem for p in written] == [name for s in sections for name in s.frames]
    top = pd.read_csv(tmp_path / "out" / "top.csv")
    assert list(top["rank"]) == list(range(1, 8))  # the report's top 7, not a default 10
    proposals = pd.read_csv(tmp_path / "out" / "proposals.csv")
    assert proposals["id"].tolist() and all(f"| {i} |" in report for i in proposals["id"])


def test_one_p_value_formatter_in_two_styles() -> None:
    assert [format_p(p) for p in (0.5, 0.04213, 0.000123, math.nan, None)] == [
        "0.5",
        "0.042",
        "1.2e-04",
        "n/a",
        "n/a",
    ]
    table = [format_p(p, decimals=3, missing="—") for p in (0.5, 0.04213, 0.000123, math.inf)]
    assert table == ["0.500", "0.042", "1.2e-04", "—"]


def test_md_table_escapes_pipes() -> None:
    table = md_table(["a", "b"], [["x|y", 1.5]], [False, True])
    assert table.splitlines() == ["| a | b |", "| --- | ---: |", "| x\\|y | 1.5 |"]


def test_ten_thousand_trials_render_fast() -> None:
    table = synthetic_table(10_000, seed=1, budgets=("2M", "20M"))
    start = time.perf_counter()
    report = render_report(table, spec=synthetic_spec(10_000))
    elapsed = time.perf_counter() - start
    print(f"\n10 000-trial report rendered in {elapsed:.2f} s ({len(report)} characters)")
    check_markdown(report)
    assert "random sample of 2000 trials" in report  # sampling is said, not hidden
