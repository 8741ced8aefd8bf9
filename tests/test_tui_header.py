"""The dashboard header's layout (a pure function) at 60, 80, 120 and 200 columns."""

from __future__ import annotations

import pytest

from kttui.service.rows import TrialRow
from kttui.tui.widgets.header import (
    HeaderInfo,
    elapsed_and_eta,
    header_text,
    middle_ellipsis,
    parse_ts,
)
from kttui.tui.widgets.session_table import short_ids

NAME = "sakt-assist2009-lr-heads-20260115-093000"  # a realistic 40-character session id
INFO = HeaderInfo(
    name=NAME,
    state="running",
    counts={"complete": 3, "running": 4, "pruned": 1, "fail": 0, "queued": 2},
    budget=12,
    metric="val_auc",
    best_value=0.81234,
    best_trial=7,
    elapsed_s=723.0,
    eta_s=1446.0,
)
NUMBERS = ("done 4/12", "▶4", "✓3", "✂1", "✗0", "0.8123", "#7", "12m", "ETA 24m")


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_every_number_fits_and_only_the_name_is_shortened(width: int) -> None:
    text = header_text(INFO, width)
    plain = text.plain
    assert text.cell_len <= width, (width, plain)
    for number in NUMBERS:
        assert number in plain, (width, number, plain)
    assert "running" in plain  # the state
    if width >= 120:
        assert NAME in plain and "◷2" in plain  # queued too
    elif width >= 80:
        shown = plain.split("  ")[0]
        assert "…" in shown and shown[:4] == NAME[:4] and shown[-4:] == NAME[-4:]


def test_wide_header_spells_the_counts_out() -> None:
    plain = header_text(INFO, 200).plain
    assert "done 4/12 · ▶4 running" in plain
    assert "✓3 complete" in plain and "✗0 failed" in plain and "best val_auc 0.8123 #7" in plain
    assert "elapsed 12m03s · ETA 24m06s" in plain


def test_no_best_no_budget_no_clock() -> None:
    info = HeaderInfo(name="s", state="created")
    plain = header_text(info, 60).plain
    assert "done 0/0" in plain and "best -" in plain and "ETA -" in plain


def test_a_header_narrower_than_its_numbers_drops_the_name_first() -> None:
    plain = header_text(INFO, 50).plain
    assert "done 4/12" in plain and "#7" in plain and NAME[:6] not in plain


def test_middle_ellipsis() -> None:
    assert middle_ellipsis("abcdef", 10) == "abcdef"
    assert middle_ellipsis("abcdefghij", 5) == "ab…ij"
    assert middle_ellipsis("abcdefghij", 1) == "…" and middle_ellipsis("abc", 0) == ""


def test_elapsed_and_eta() -> None:
    start = parse_ts("2025-01-15T09:30:00+00:00")
    assert start is not None and parse_ts("garbage") is None and parse_ts(None) is None
    counts = {"complete": 2, "fail": 1, "running": 2}
    elapsed, eta = elapsed_and_eta(start, [], counts, 12, alive=True, now=start + 300)
    assert elapsed == 300 and eta == pytest.approx(900)  # 9 left at 100 s per trial
    assert elapsed_and_eta(start, [], {"running": 1}, 12, alive=True, now=start + 5)[1] is None
    rows = [TrialRow(0, "complete", started_ts=start + 10, duration_s=50)]
    # a stopped sweep's clock ends at its last trial's end
    assert elapsed_and_eta(start, rows, {"complete": 1}, 1, alive=False) == (60, 0.0)
    assert elapsed_and_eta(None, rows, {}, None, alive=True) == (None, None)


def test_session_ids_never_become_indistinguishable() -> None:
    ids = [
        "dkt-width-lr-20260115-093000",
        "dkt-width-lr-20260115-093001",
        "sakt-heads-20260116-101500",
    ]
    for width in (8, 12, 19, 40):
        labels = short_ids(ids, width)
        assert len(set(labels.values())) == len(ids), (width, labels)
    assert short_ids(ids, 40) == {i: i for i in ids}
    assert all(len(v) <= 12 for v in short_ids(["a" * 30, "b" * 30], 12).values())
