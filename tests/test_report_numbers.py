"""The report writes every number of the objective at one precision: the metric's own.

Issue 17: the report wrote "spread of the means: 0.0003304" and "+0.0002375" beside
means of 0.7186. Effects, spreads and gaps must use the decimals of the values they
compare.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from kttui.analysis.table import TrialFrame
from kttui.analysis.values import decimals_of
from kttui.report import render_report
from kttui.report.format import Numbers
from tests.test_analysis_seed000 import seed000_table

#: Sentences and rows whose numbers are in the objective's units.
IN_UNITS = [
    r"spread of the means: ([-+]?\d+\.\d+)",
    r"\| Best − baseline \| ([-+]?\d+\.\d+) ",
    r"\| Mean ± std \| (\d+\.\d+) ± (\d+\.\d+) \|",
    r"\| Range \| (\d+\.\d+) \|",
    r"Measured effects add up to ([-+]?\d+\.\d+); the actual difference is ([-+]?\d+\.\d+)",
    r"\*\*Best:\*\* (\d+\.\d+)",
]


def numbers_in_units(report: str) -> list[str]:
    found = [g for pattern in IN_UNITS for m in re.finditer(pattern, report) for g in m.groups()]
    assert len(found) >= 6, report  # the sentences are there to be checked
    return found


@pytest.mark.parametrize(
    ("values", "decimals"),
    [
        ([0.718623, 0.72011, 0.7024], 4),  # AUCs: 4 significant digits
        ([0.7193, 0.7181, 0.7021], 4),  # as the seed's appendix has them
        ([0.85, 0.87, 0.9], 2),  # recorded with 2 decimals: no invented digits
        ([12.31, 12.77, 13.05], 2),  # losses near 12
        ([1234.5, 1301.25], 0),  # near 1e3: 4 digits, no decimal
        ([12, 15, 30], 0),  # whole numbers
        ([0.0123, 0.0151], 4),  # exact at 4 decimals, 5 would be wanted
        ([0.012345, 0.015111], 5),
        ([], 4),
        ([0.0, 0.0], 4),
        ([float("nan"), float("inf"), 0.5], 1),
        ([2.513e-5, 3.131e-5], 8),  # the smallest magnitude still written in fixed decimals
        ([1e-300, 2e-300], None),  # tiny values: 4 significant digits instead
        ([1e308, 1e307], None),
        ([1.5e6, 2.5e6], 0),
        ([0.7123, 1e308, 0.71], 4),  # one absurd value does not decide, nor warn
    ],
)
def test_the_objective_precision_comes_from_the_data(
    values: list[float], decimals: int | None
) -> None:
    assert decimals_of(values) == decimals


def test_differences_keep_the_value_decimals_and_say_zero_plainly() -> None:
    n = Numbers(4)
    assert [n.v(0.71862), n.v(0.0003304), n.d(0.0002375), n.d(-0.0012)] == [
        "0.7186",
        "0.0003",
        "+0.0002",
        "-0.0012",
    ]
    assert n.d(-0.00002) == "0.0000" and n.d(0.00004) == "0.0000"  # no "-0.0000"
    assert n.v(None) == "—" and n.d(float("nan")) == "—"
    assert n.v(1e308) == "1e+308" and n.d(-3.2e9) == "-3.2e+09"  # never 309 digits
    assert Numbers(None).v(1.234567e-9) == "1.235e-09" and Numbers(None).d(2e-10) == "+2e-10"


def test_seed000_report_writes_its_objective_with_four_decimals() -> None:
    table = seed000_table()
    report = render_report(table)
    found = numbers_in_units(report)
    assert {len(x.split(".")[1]) for x in found} == {4}, found
    assert "| Range | 0.0172 |" in report  # the appendix's range (the seed says 0.0171)


def test_a_loss_near_twelve_is_written_with_two_decimals() -> None:
    rng = np.random.default_rng(0)
    lr = rng.choice([1e-4, 3e-4, 1e-3], 40)
    df = pd.DataFrame(
        {
            "lr": lr,
            "layers": rng.choice([2, 4], 40),
            "loss": 12 + 1000 * lr + rng.normal(0, 0.37, 40),
        }
    )
    table = TrialFrame.from_dataframe(
        df,
        params=["lr", "layers"],
        value_column="loss",
        objective="loss",
        direction="minimize",
        baseline=12.9,
    )
    found = numbers_in_units(render_report(table))
    assert {len(x.split(".")[1]) for x in found} == {2}, found
