"""Every key of the console, driven by Textual's Pilot against real sweeps.

Sessions are started with `kttui run` (the fake trainer); assertions are on
state (the runner, the session files, the widgets' data), not on pixels.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kttui.service.sessions import control
from kttui.service.specs import SPEC_TEMPLATE
from kttui.session import Session
from kttui.tui.app import KttuiApp
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.screens.detail import TrialDetailScreen
from kttui.tui.screens.dialogs import ConfirmScreen, PathPrompt
from kttui.tui.screens.editor import EditorScreen
from kttui.tui.screens.help import HelpScreen
from kttui.tui.screens.home import HomeScreen
from kttui.tui.widgets.charts import ChartPane
from kttui.tui.widgets.session_table import SessionTable
from kttui.tui.widgets.trial_table import TrialTable
from tests.conftest import kttui, wait_for, write_spec
from tests.demo_session import write_demo_session

pytestmark = pytest.mark.timeout(120)


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in its own event loop (no pytest-asyncio needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


async def until(pilot: Pilot[Any], pred: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Let the app run until ``pred()`` is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def start_sweep(store: Path, tmp_path: Path, **over: Any) -> Session:
    spec = write_spec(tmp_path / "spec.yaml", **over)
    out = kttui("run", str(spec), "--sessions-dir", str(store))
    assert out.returncode == 0, out.stderr
    return Session.open(store, None)


def table(app: KttuiApp) -> TrialTable:
    return app.screen.query_one(TrialTable)


@pytest.mark.timeout(300)
@sync
async def test_dashboard_keys_against_a_live_sweep(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KTTUI_FAKE_GPUS", "2")
    session = start_sweep(
        store,
        tmp_path,
        fixed={"epochs": 2000, "epoch_s": 0.05},
        strategy={"n_trials": 6},
        resources={"cpu_slots": 2},
    )
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        # live epochs reach the table
        running = await until(
            pilot,
            lambda: [r for r in table(app).rows_by_number.values() if r.state == "running"],
        )
        number = running[0].number
        # the cursor follows the newest trial
        await until(pilot, lambda: screen.selected == max(table(app).rows_by_number))
        assert table(app).follow
        first = table(app).rows_by_number[number].epoch or 0
        await until(pilot, lambda: (table(app).rows_by_number[number].epoch or 0) > first + 3)
        assert table(app).row_count == len(table(app).rows_by_number)

        # p pauses launching, r resumes it
        await until(pilot, lambda: screen.runner.state == "running")
        # every action that applies is in the command palette too
        titles = {c.title for c in app.get_system_commands(screen)}
        expected = {"Pause", "Stop", "Kill", "Export", "Chart", "Filter", "Detail", "Panes"}
        expected |= {"Edit spec", "New sweep", "Sort column", "Reverse sort", "Slice param"}
        expected |= {"Quit", "Help", "Sort trials by best (descending)"}
        assert expected <= titles, expected - titles
        assert "Resume" not in titles  # not while it runs
        await pilot.press("p")
        await until(pilot, lambda: session.state() == "paused")
        await until(pilot, lambda: screen.runner.state == "paused")
        await pilot.press("r")
        await until(pilot, lambda: session.state() == "running")

        # c cycles the charts
        kinds = []
        for _ in range(4):
            await pilot.press("c")
            kinds.append(screen.query_one(ChartPane).kind)
        assert kinds == ["best", "slice", "importance", "curves"]

        # / filters, esc clears
        await pilot.press("slash")
        await pilot.press(*"state=running", "enter")
        await until(pilot, lambda: table(app).filter.text == "state=running")
        shown = table(app).row_count
        assert 0 < shown < 6 or shown == sum(
            1 for r in table(app).rows_by_number.values() if r.state == "running"
        )
        await pilot.press("slash", "escape")
        await until(pilot, lambda: table(app).filter.text == "")

        # o sorts by the next column, O reverses
        await pilot.press("o")
        assert table(app).sort_column == "state"
        await pilot.press("O")
        assert table(app).sort_reverse
        screen.sort_by("number")

        # select a running trial, k kills it after a confirmation
        running_now = [n for n, r in table(app).rows_by_number.items() if r.state == "running"]
        victim = running_now[0]
        table(app).move_cursor(row=table(app).get_row_index(str(victim)))
        await until(pilot, lambda: screen.selected == victim)
        await pilot.press("k")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(
            pilot,
            lambda: (session.trial_status(victim) or {}).get("reason") == "killed by user",
        )
        await until(pilot, lambda: table(app).rows_by_number[victim].state == "fail")

        # enter opens the trial detail, escape goes back
        await pilot.press("enter")
        assert isinstance(app.screen, TrialDetailScreen)
        await until(pilot, lambda: app.screen.detail is not None)
        assert app.screen.detail.status["reason"] == "killed by user"
        await pilot.press("escape")
        assert app.screen is screen

        # tab moves between panes
        await pilot.press("tab")
        assert screen.current_pane == "chart"
        await pilot.press("tab", "tab", "tab", "tab")
        assert screen.current_pane == "trials"

        # x exports the report
        await pilot.press("x")
        await until(pilot, lambda: (session.path / "report.md").is_file(), timeout=120)

        # ? shows help listing every dashboard key
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")

        # the log pane follows the selected trial
        assert screen.query_one("#log").trial == screen.selected

        # e on a running sweep: edits cannot reach it, offered as a new spec
        await pilot.press("e")
        assert isinstance(app.screen, ConfirmScreen)
        assert "edits do not change it" in app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen))
        assert app.screen.path.name == "spec-2.yaml" and not app.screen.path.exists()
        assert app.screen.text == session.spec_path.read_text()
        await pilot.press("escape")
        if isinstance(app.screen, EditorScreen):  # unsaved: a second esc discards
            await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)

        # s stops gracefully after a confirmation: no new launches, running trials finish
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen is screen and session.state() == "running"
        await pilot.press("s", "y")
        await until(pilot, lambda: session.state() in ("stopping", "stopped"), timeout=30)
        await pilot.press("q")
    assert app.return_code in (0, None)


@sync
async def test_quitting_never_stops_the_sweep(store: Path, tmp_path: Path) -> None:
    session = start_sweep(store, tmp_path, fixed={"epochs": 400, "epoch_s": 0.05})
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app).rows_by_number)
        assert app.screen.narrow
        await pilot.press("q")
    quit_at = time.time()
    # proof of life, not a pause: the runner's loop beats again after the console is gone
    beat = lambda: ((session.runner() or {}).get("heartbeat") or 0) > quit_at  # noqa: E731
    log = session.runner_log.read_text(errors="replace")[-2000:]
    assert wait_for(beat, timeout=60), f"no heartbeat after quitting: {session.runner()}\n{log}"
    assert session.runner_alive(), f"runner gone: {session.runner()}\n{log}"
    assert session.state() == "running"
    control(session, "shutdown")


@sync
async def test_home_open_delete_and_new(store: Path, tmp_path: Path) -> None:
    finished = write_demo_session(store, name="old", trials=6, epochs=3)
    live = start_sweep(store, tmp_path, fixed={"epochs": 400, "epoch_s": 0.05})
    app = KttuiApp(store, cursor_blink=False, launch_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        home = app.screen
        assert isinstance(home, HomeScreen)
        sessions = home.query_one(SessionTable)
        await until(pilot, lambda: sessions.row_count == 2)
        # the live session cannot be deleted: d does nothing
        sessions.move_cursor(row=sessions.get_row_index(live.id))
        await until(pilot, lambda: home.selected and home.selected.id == live.id)
        await pilot.press("d")
        assert app.screen is home and live.path.is_dir()
        # enter opens its dashboard, escape comes back
        await pilot.press("enter")
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.session.path == live.path
        await pilot.press("escape")
        assert app.screen is home
        # the finished one is deleted after confirmation
        sessions.move_cursor(row=sessions.get_row_index(finished.id))
        await until(pilot, lambda: home.selected and home.selected.id == finished.id)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: not finished.path.exists())
        await until(pilot, lambda: sessions.row_count == 1)
        # n asks for a spec path and opens the editor on it
        await pilot.press("n")
        assert isinstance(app.screen, PathPrompt)
        target = tmp_path / "new.yaml"
        app.screen.query_one("#path-input").value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen))
        assert app.screen.path == target
        assert app.screen.text == SPEC_TEMPLATE
        await pilot.press("escape")
        assert app.screen is home
    control(live, "shutdown")


@sync
async def test_editor_validates_saves_and_launches(store: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "sweep.yaml", strategy={"n_trials": 2})
    good = spec.read_text()
    bad = good.replace("high: 1.0", "hihg: 1.0")
    spec.write_text(bad)
    app = KttuiApp(store, cursor_blink=False, launch_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.post_message(service_edit(spec))
        await until(pilot, lambda: isinstance(app.screen, EditorScreen))
        editor = app.screen
        await until(pilot, lambda: editor.validated_text == bad)
        assert editor.issues and all(i.line > 0 for i in editor.issues)
        bad_line = next(i.line for i in editor.issues if "hihg" in i.message)
        assert bad.splitlines()[bad_line - 1].strip().startswith("hihg")
        assert editor.query_one("#spec").error_lines == {i.line - 1 for i in editor.issues}
        # ctrl+l refuses an invalid spec
        await pilot.press("ctrl+l")
        assert not any(store.iterdir())
        # f8 jumps to the problem
        await pilot.press("f8")
        first = min(i.line for i in editor.issues)
        assert editor.query_one("#spec").cursor_location[0] == first - 1
        # fix it: validation follows the edit
        editor.query_one("#spec").text = good
        await until(pilot, lambda: editor.validated_text == good and not editor.issues)
        assert editor.query_one("#spec").error_lines == frozenset()
        await pilot.press("ctrl+s")
        assert spec.read_text() == good
        # ctrl+l creates the session, starts the runner and opens its dashboard
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), timeout=40)
        session = app.screen.session
        assert session.info()["source"] == str(spec.resolve())
        await until(pilot, lambda: app.screen.runner.state == "finished", timeout=40)
        # e on a finished sweep's dashboard edits the session's spec file
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen))
        assert app.screen.path == spec.resolve()


def service_edit(path: Path) -> Any:
    from kttui.tui.messages import EditSpec

    return EditSpec(path)


@sync
async def test_r_restarts_a_stopped_runner(store: Path, tmp_path: Path) -> None:
    session = start_sweep(
        store, tmp_path, fixed={"epochs": 400, "epoch_s": 0.05}, strategy={"n_trials": 3}
    )
    control(session, "shutdown")
    wait_for(lambda: session.state() == "stopped" and not session.runner_alive())
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: screen.runner.state == "stopped")
        assert screen.check_action("resume", ()) and not screen.check_action("pause", ())
        await pilot.press("r")
        await until(pilot, lambda: session.runner_alive(), timeout=40)
        await until(pilot, lambda: screen.runner.state == "running")
    control(session, "shutdown")


def screen_text(app: KttuiApp) -> str:
    """What the terminal shows (rendered now)."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


async def watch_chart(store: Path, session: Session, size: tuple[int, int]) -> None:
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: (r := screen._selected_row()) and r.state == "running")
        assert screen._selected_row().epoch is None  # type: ignore[union-attr]
        if screen.narrow:
            await pilot.press("tab")  # the chart tab
        await until(pilot, lambda: screen.loaded)
        await pilot.pause(1.2)  # the chart re-plots once a second
        text = screen_text(app)
        assert "learning curves" in text or "per epoch" in text, text
        assert app.errors == [] and app.is_running


@sync
async def test_a_running_trial_without_an_epoch_never_breaks_the_chart(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11's crash: plotext's IndexError on a labelled series with no points."""
    monkeypatch.setenv("KTTUI_FAKE_GPUS", "4")
    session = start_sweep(
        store,
        tmp_path,
        fixed={"epochs": 50, "epoch_s": 30},
        strategy={"n_trials": 8},
        resources={"gpus": "auto", "cpu_slots": 4},
    )
    for size in ((200, 50), (80, 24)):
        await watch_chart(store, session, size)
    assert not (session.path / "console.log").exists()
    control(session, "shutdown")


@sync
async def test_a_failing_pane_shows_one_line_and_the_rest_goes_on(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = start_sweep(store, tmp_path, fixed={"epochs": 4000, "epoch_s": 0.05})

    def broken(self: Any, *args: Any) -> None:
        raise RuntimeError("the chart cannot draw this")

    def broken_show(self: Any, snapshot: Any) -> None:
        raise ValueError("no GPU reading")

    monkeypatch.setattr(ChartPane, "_curves", broken)
    monkeypatch.setattr("kttui.tui.widgets.gpu_pane.GpuPane.show", broken_show)
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = app.screen
        rows = await until(pilot, lambda: table(app).rows_by_number)
        number = min(rows)
        await until(pilot, lambda: any("chart failed" in e for e in app.errors))
        await until(pilot, lambda: any("gpus failed" in e for e in app.errors))
        text = screen_text(app)
        assert "chart failed: RuntimeError" in text, text
        assert "gpus failed: ValueError" in str(screen.query_one("#pane-gpus").border_subtitle)
        # the other panes go on: epochs still reach the table, keys still work
        first = table(app).rows_by_number[number].epoch or 0
        await until(pilot, lambda: (table(app).rows_by_number[number].epoch or 0) > first + 3)
        await pilot.press("o")
        assert table(app).sort_column == "state"
        assert app.is_running
    log = (session.path / "console.log").read_text()
    assert "Traceback" in log and "the chart cannot draw this" in log and "no GPU reading" in log
    assert log.count("the chart cannot draw this") < 10  # once per failure, not per frame
    control(session, "shutdown")


@sync
async def test_view_choices_are_remembered_across_attach(store: Path) -> None:
    session = write_demo_session(store, trials=12, epochs=3)
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: table(app).rows_by_number)
        await pilot.press("o", "o", "O", "c", "c")
        await pilot.press("slash", *"state=complete", "enter")
        await until(pilot, lambda: table(app).filter.text == "state=complete")
        # an unknown name is named, not silently matched against nothing
        await pilot.press("slash", "ctrl+u", *"lrr<0.1", "enter")
        await until(pilot, lambda: table(app).filter.text == "lrr<0.1")
        title = str(app.screen.query_one("#pane-trials").border_title)
        assert "no param, metric or column named lrr" in title, title
        await pilot.press("slash", "ctrl+u", *"state=complete", "enter")
        await until(pilot, lambda: table(app).filter.text == "state=complete")
        sort = (table(app).sort_column, table(app).sort_reverse)
        await pilot.press("tab")
        assert app.screen.current_pane == "chart" and app.screen.chart_kind == "slice"
    again = KttuiApp(store, session.path, cursor_blink=False)
    async with again.run_test(size=(80, 24)) as pilot:
        screen = again.screen
        await until(pilot, lambda: table(again).rows_by_number)
        assert (table(again).sort_column, table(again).sort_reverse) == sort
        assert table(again).filter.text == "state=complete"
        assert screen.current_pane == "chart" and screen.chart_kind == "slice"
