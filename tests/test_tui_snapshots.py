"""Snapshots of the console's screens on a synthetic finished session (fixed data and times).

Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` after a
deliberate change, and look at the report before accepting it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kttui.tui.app import KttuiApp
from kttui.tui.messages import EditSpec
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.screens.editor import EditorScreen
from kttui.tui.widgets.charts import ChartPane
from kttui.tui.widgets.session_table import SessionTable
from kttui.tui.widgets.trial_table import TrialTable
from tests.demo_session import write_demo_session

STORE = Path("store")


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A finished 40-trial session in ./store (relative, so titles are stable)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KTTUI_FAKE_GPUS", "2")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    STORE.mkdir()
    return write_demo_session(STORE, trials=40, epochs=20).path


async def until(pilot: Pilot[Any], pred: Callable[[], Any], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met")
        await pilot.pause(0.05)


async def dashboard_ready(pilot: Pilot[Any]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    await until(pilot, lambda: screen.loaded and screen.query_one(TrialTable).row_count == 40)
    await until(pilot, lambda: screen.data.analysis and screen.selected in screen.curves)
    await until(pilot, lambda: screen.gpus is not None and screen.gpus.fake)
    await until(pilot, lambda: screen.query_one(TrialTable).cursor_visible)
    screen.query_one(ChartPane).replot()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.5)
    screen.refresh(repaint=True, layout=True)
    await pilot.pause(0.2)


def test_home(snap_compare: Any, demo: Path) -> None:
    async def ready(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: pilot.app.screen.query_one(SessionTable).row_count == 1)
        await pilot.pause(0.2)

    app = KttuiApp(STORE, cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_dashboard_80x24(snap_compare: Any, demo: Path) -> None:
    app = KttuiApp(STORE, demo, cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=dashboard_ready)


def test_dashboard_80x24_chart_tab(snap_compare: Any, demo: Path) -> None:
    async def ready(pilot: Pilot[Any]) -> None:
        await dashboard_ready(pilot)
        await pilot.press("c")  # best so far, shown as the current tab
        pilot.app.screen.query_one(ChartPane).replot()
        await pilot.pause(0.2)

    app = KttuiApp(STORE, demo, cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_dashboard_160x48(snap_compare: Any, demo: Path) -> None:
    app = KttuiApp(STORE, demo, cursor_blink=False)
    assert snap_compare(app, terminal_size=(160, 48), run_before=dashboard_ready)


def test_editor_with_an_error(snap_compare: Any, demo: Path) -> None:
    spec = Path("sweep.yaml")
    text = (demo / "spec.yaml").read_text().replace("high: 0.5", "hihg: 0.5")
    spec.write_text(text)

    async def ready(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        pilot.app.post_message(EditSpec(spec))
        await until(pilot, lambda: isinstance(pilot.app.screen, EditorScreen))
        await until(pilot, lambda: pilot.app.screen.validated_text == text)
        await pilot.pause(0.2)

    app = KttuiApp(STORE, cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


def test_help(snap_compare: Any, demo: Path) -> None:
    async def ready(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: pilot.app.screen.query_one(SessionTable).row_count == 1)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    app = KttuiApp(STORE, cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)
