"""Watching costs little: an unchanged pane is never redrawn (issue 11 §6).

The console is driven by Pilot on sessions written to disk; each pane's
redraws are counted (the chart's own counter; the trial table's rendered
lines; the header, GPU and advice panes' updates) while the feed keeps
polling. Figures (CPU, bytes to the terminal) are in bench/tui_idle.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Markdown

from kttui.tui.app import KttuiApp
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.widgets.charts import ChartPane
from kttui.tui.widgets.gpu_pane import GpuPane
from kttui.tui.widgets.header import SessionHeader
from kttui.tui.widgets.trial_table import TrialTable
from tests.demo_session import write_demo_session
from tests.test_tui_pilot import sync, until


class Redraws:
    """Counts what each pane draws from now on (instance attributes wrap the widget's own)."""

    def __init__(self, screen: DashboardScreen) -> None:
        self.table_lines: list[int] = []
        self.updates: dict[str, int] = {"header": 0, "gpus": 0, "advice": 0}
        table = screen.query_one(TrialTable)
        self._wrap(table, "render_line", lambda y: self.table_lines.append(y))
        self._wrap(screen.query_one(SessionHeader), "update", self._count("header"))
        self._wrap(screen.query_one(GpuPane), "show", self._count("gpus"))
        self._wrap(screen.query_one("#advice", Markdown), "update", self._count("advice"))

    def _count(self, name: str) -> Callable[..., None]:
        def bump(*args: Any) -> None:
            self.updates[name] += 1

        return bump

    @staticmethod
    def _wrap(widget: Any, name: str, note: Callable[..., None]) -> None:
        own = getattr(widget, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            note(*args)
            return own(*args, **kwargs)

        setattr(widget, name, counted)


async def settled(pilot: Pilot[Any], screen: DashboardScreen) -> None:
    """Until everything was loaded and drawn once, and the feed went quiet."""
    chart = screen.query_one(ChartPane)
    await until(
        pilot,
        lambda: screen.loaded and chart.data.analysis is not None and chart.replots > 0,
        timeout=180,
    )
    polls = screen.feed.polls
    await until(pilot, lambda: screen.feed.polls >= polls + 3, timeout=60)


async def polls_pass(pilot: Pilot[Any], screen: DashboardScreen, cycles: int) -> None:
    """Until the feed polled ``cycles`` more times and the 1 s timers ran a few times."""
    polls, start = screen.feed.polls, time.monotonic()
    await until(
        pilot,
        lambda: screen.feed.polls >= polls + cycles and time.monotonic() - start > 3.5,
        timeout=60,
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("KTTUI_FAKE_GPUS", raising=False)
    return tmp_path / "store"


@pytest.mark.timeout(300)
@sync
async def test_a_finished_session_is_never_redrawn(store: Path) -> None:
    session = write_demo_session(store, trials=40, epochs=20)
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await settled(pilot, screen)
        chart = screen.query_one(ChartPane)
        replots = chart.replots
        redraws = Redraws(screen)
        await polls_pass(pilot, screen, 3)
        assert chart.replots == replots
        assert redraws.table_lines == []
        assert redraws.updates == {"header": 0, "gpus": 0, "advice": 0}
        # a key still redraws what it changes
        await pilot.press("c")
        await until(pilot, lambda: chart.replots > replots)


@pytest.mark.timeout(300)
@sync
async def test_a_new_epoch_redraws_only_its_line_and_its_curve(store: Path) -> None:
    session = write_demo_session(store, trials=40, epochs=20, running=(39,))
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(TrialTable)
        await settled(pilot, screen)
        await until(pilot, lambda: screen.selected == 39)  # the newest trial is followed
        chart = screen.query_one(ChartPane)
        replots = chart.replots
        epoch = table.rows_by_number[39].epoch or 0
        redraws = Redraws(screen)
        line = json.dumps({"epoch": epoch + 1, "val_auc": 0.7, "loss": 0.3})
        with open(session.trial_dir(39) / "metrics.jsonl", "a") as fh:
            fh.write(line + "\n")
        await until(pilot, lambda: (table.rows_by_number[39].epoch or 0) == epoch + 1)
        await until(pilot, lambda: chart.replots > replots)  # trial 39's curve is shown
        await polls_pass(pilot, screen, 3)
        own_line = table.get_row_index("39") + 1 - int(table.scroll_offset.y)
        assert redraws.table_lines and set(redraws.table_lines) == {own_line}
        assert redraws.updates == {"header": 0, "gpus": 0, "advice": 0}
        assert chart.replots == replots + 1
