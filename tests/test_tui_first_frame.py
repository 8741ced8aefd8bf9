"""The console's first frame comes before the work it does not show (kttui/tui/first_frame.py).

The status reader (a thread sharing the GIL with the UI thread) and the advice
pane's Markdown widget start only after the first frame; they do start, and a
dashboard opened later (the first frame long drawn) starts them at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kttui.tui.app import KttuiApp
from kttui.tui.messages import OpenSession
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.widgets.trial_table import TrialTable
from tests.demo_session import write_demo_session
from tests.test_tui_pilot import sync, until


@pytest.mark.timeout(300)
@sync
async def test_reader_and_advice_start_after_the_first_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KTTUI_FAKE_GPUS", "2")
    session = write_demo_session(tmp_path / "store", trials=30, epochs=10)
    app = KttuiApp(tmp_path / "store", session.path, cursor_blink=False)
    seen: dict[str, object] = {}
    drawn = app.first_frame.drawn

    def at_first_frame() -> None:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        seen["reader"] = [w.name for w in app.workers if w.group == "feed-fast"]
        seen["advice"] = len(screen.query("#advice"))
        seen["rows"] = screen.query_one(TrialTable).row_count
        drawn()

    app.first_frame.drawn = at_first_frame  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: "reader" in seen, timeout=60)
        assert seen == {"reader": [], "advice": 0, "rows": 0}
        # and then they run: every trial read, the advice pane mounted
        await until(pilot, lambda: screen.query_one(TrialTable).row_count == 30, timeout=120)
        await until(pilot, lambda: len(screen.query("#advice")) == 1, timeout=60)
        # a dashboard opened after the first frame starts its reader at once
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DashboardScreen), timeout=60)
        app.post_message(OpenSession(session))
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), timeout=60)
        again = app.screen
        assert isinstance(again, DashboardScreen) and again is not screen
        await until(pilot, lambda: again.query_one(TrialTable).row_count == 30, timeout=120)
        await until(pilot, lambda: len(again.query("#advice")) == 1, timeout=60)
