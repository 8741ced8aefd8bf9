"""Findings: the wording follows the evidence, and every statement carries its numbers."""

from __future__ import annotations

from typing import Any

import pytest

from kttui.analysis.findings import Finding, findings
from kttui.analysis.overview import analyze
from kttui.analysis.table import TrialFrame
from tests.synthetic import synthetic_table


@pytest.fixture(scope="module")
def found() -> list[Finding]:
    # The known answer (tests/synthetic.py): a and b matter (p<0.05), flag=True
    # is far better, width does not matter; baseline 0.70.
    return findings(analyze(synthetic_table(150, seed=2)))


def _with(found: list[Finding], text: str) -> Finding:
    hits = [f for f in found if text in f.text]
    assert len(hits) == 1, (text, [f.text for f in found])
    return hits[0]


def test_first_finding_is_the_best_trial(found: list[Finding]) -> None:
    assert found[0].strength == "fact"
    assert found[0].text.startswith("The best score is ")
    assert "completed trials; median" in found[0].evidence


def test_significant_trends_are_stated_with_their_test(found: list[Finding]) -> None:
    a = _with(found, "Higher a does better.")
    assert a.strength == "strong" and a.evidence.startswith("Spearman rho=+")
    assert "(p<0.05)" in a.evidence
    flag = _with(found, "flag=True does better than flag=False.")
    assert flag.strength == "strong" and "mann-whitney" in flag.evidence


def test_no_reliable_difference_is_said_so_and_marked_weak(found: list[Finding]) -> None:
    width = _with(found, "No reliable difference between the values of width.")
    assert width.strength == "weak" and "kruskal-wallis" in width.evidence


def test_baseline_and_importance_are_facts(found: list[Finding]) -> None:
    base = _with(found, "the baseline 0.7")
    assert base.strength == "fact" and "improves on" in base.text
    top = _with(found, "carries the largest share of importance")
    assert top.text.startswith("a ") and "%" in top.evidence


def rec(number: int, value: float | None, state: str = "complete", **params: Any) -> dict[str, Any]:
    return {"number": number, "state": state, "value": value, "params": params}


def test_coverage_findings_name_the_trials() -> None:
    records = [rec(i, 0.5 + 0.01 * i, x=i % 3, lr=1e-3) for i in range(9)]
    records.append(rec(9, 0.4, x=7, lr=1e-3))  # x=7 tried once
    records.append(rec(10, 0.45, x=0, lr=1e-3))  # a config that already ran
    found = findings(analyze(TrialFrame.from_records(records)))
    assert "lr was never varied (always 0.001)" in _with(found, "lr was never varied").text
    assert _with(found, "x=7 rests on a single trial (#9)").evidence == "n=1"
    dup = _with(found, "re-ran a config that had already run")
    assert dup.evidence.endswith("in 11 trials")


def test_nothing_is_concluded_without_a_result() -> None:
    table = TrialFrame.from_records([rec(0, None, "fail", a=0.1), rec(1, None, "running", a=0.2)])
    assert findings(analyze(table)) == [
        Finding("No trial completed with a result; nothing can be concluded.", "2 trials", "fact")
    ]
