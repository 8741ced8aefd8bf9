"""The header's clock ticks while a live sweep is idle (no new rows, no epochs).

Before, elapsed and ETA were only recomputed when the feed delivered a change,
so a sweep whose trials were busy before their first epoch showed a frozen
clock for as long as that lasted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kttui.service import sessions
from kttui.tui.app import KttuiApp
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.widgets.header import HeaderInfo, SessionHeader, elapsed_and_eta, header_text
from tests.test_tui_pilot import start_sweep, sync, until

pytestmark = pytest.mark.timeout(180)


def test_a_live_header_advances_with_the_clock() -> None:
    counts = {"complete": 1, "running": 1}
    elapsed, eta = elapsed_and_eta(1000.0, [], counts, 4, alive=True, now=1030.0)
    assert (elapsed, eta) == (30.0, 90.0)  # 1 of 4 done in 30 s: 3 more take 90 s
    later = elapsed_and_eta(1000.0, [], counts, 4, alive=True, now=1040.0)
    assert later == (40.0, 120.0)
    # a stopped sweep's clock ends where its last trial ended
    assert elapsed_and_eta(1000.0, [], counts, 4, alive=False, now=5000.0)[0] == 0.0
    info = HeaderInfo(name="s", state="running", elapsed_s=later[0], eta_s=later[1])
    assert "elapsed 40s" in header_text(info, 200).plain


@sync
async def test_the_elapsed_time_ticks_while_the_sweep_is_idle(store: Path, tmp_path: Path) -> None:
    # one trial that sleeps far longer than the test before its first epoch: nothing changes
    session = start_sweep(
        store,
        tmp_path,
        fixed={"epochs": 2, "epoch_s": 600},
        strategy={"n_trials": 1},
        resources={"cpu_slots": 1},
    )
    app = KttuiApp(store, session.path, cursor_blink=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            header = screen.query_one(SessionHeader)
            await until(pilot, lambda: screen.runner.alive and screen.counts.get("running") == 1)

            def elapsed() -> str:
                plain = str(header.render())
                return plain.split("elapsed ")[1].split(" ")[0] if "elapsed " in plain else ""

            first = await until(pilot, elapsed, timeout=30)
            rows_at = dict(screen.query_one("#trials").rows_by_number)
            started = time.monotonic()
            await until(pilot, lambda: elapsed() not in ("", first), timeout=30)
            # it ticked on its own: the feed delivered no new row meanwhile
            assert dict(screen.query_one("#trials").rows_by_number) == rows_at
            assert time.monotonic() - started < 30
            second = elapsed()
            await until(pilot, lambda: elapsed() not in (second,), timeout=30)
    finally:
        sessions.control(session, "shutdown")
