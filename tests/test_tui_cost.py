"""Watching costs little: an unchanged pane is never redrawn (issue 11 §6).

The console is driven by Pilot on sessions written to disk; each pane's
redraws are counted (the chart's own counter; the trial table's rendered
lines; the header, GPU and advice panes' updates) while the feed keeps
polling. While a sweep is live everything lands in one frame a second (the
feed's), hidden panes are neither plotted nor polled, and a poll reads only
what grew. Figures (CPU, bytes to the terminal) are in bench/tui_idle.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Markdown

from kttui.metricparse import EpochLog
from kttui.service.rows import TrialRow
from kttui.service.watch import SessionDelta, SessionWatcher
from kttui.tui.app import KttuiApp
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.screens.frame_clock import (
    CLOCK_NEAR_S,
    FRAME_S,
    IDLE_POLL_S,
    ROW_GAP_S,
    WATCH_S,
    FrameClock,
    next_poll_in,
)
from kttui.tui.widgets import charts
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


def test_a_live_feed_polls_on_the_frame_clock() -> None:
    # on the wall clock's half seconds while live, whatever the phase of the last poll
    for now, wait in ((100.2, 0.3), (100.5, 1.0), (100.9, 0.6), (101.49, 0.01)):
        assert next_poll_in(now, live=True) == pytest.approx(wait)
    assert next_poll_in(100.2, live=False) == IDLE_POLL_S  # nothing runs: slowly
    assert FRAME_S == 1.0


class Writer:
    """Appends an epoch to a running trial's metrics every few milliseconds (a fast trial)."""

    def __init__(self, path: Path, epoch: int) -> None:
        self.path, self.epoch = path, epoch
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.03):
            self.epoch += 1
            line = json.dumps({"epoch": self.epoch, "val_auc": 0.5 + self.epoch % 7 / 100})
            with open(self.path, "a") as fh:
                fh.write(line + "\n")

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


class Frames:
    """Tags every redraw with the number of SessionChanged frames the screen applied so far."""

    def __init__(self, screen: DashboardScreen) -> None:
        self.count = 0
        self.rows_only = 0
        self.drawn: list[tuple[str, int]] = []
        feed, chart = screen.feed, screen.query_one(ChartPane)
        Redraws._wrap(feed, "delivered", self._frame)
        Redraws._wrap(screen, "_apply_rows", self._row_frame)
        Redraws._wrap(screen.query_one(TrialTable), "render_line", self._note("line"))
        Redraws._wrap(screen.query_one(SessionHeader), "update", self._note("header"))
        Redraws._wrap(chart, "replot", self._note("chart"))

    def _frame(self, *args: Any) -> None:
        self.count += 1

    def _row_frame(self, *args: Any) -> None:
        self.rows_only += 1

    def _note(self, what: str) -> Callable[..., None]:
        def note(*args: Any) -> None:
            self.drawn.append((f"{what}{args[:1]}", self.count))

        return note

    def kinds(self, what: str) -> int:
        return sum(1 for d, _ in self.drawn if d.startswith(what))


@pytest.mark.timeout(300)
@sync
async def test_a_fast_trial_costs_a_few_frames_a_second(store: Path) -> None:
    session = write_demo_session(store, trials=40, epochs=20, running=(39,))
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(TrialTable)
        await settled(pilot, screen)
        await until(pilot, lambda: screen.selected == 39)
        chart = screen.query_one(ChartPane)
        replots = chart.replots
        epoch = table.rows_by_number[39].epoch or 0
        frames = Frames(screen)
        start = time.monotonic()
        with Writer(session.trial_dir(39) / "metrics.jsonl", epoch) as writer:
            # row frames show new epochs between the clock frames (one a second)
            await until(pilot, lambda: frames.count >= 8 and frames.rows_only >= 2, timeout=60)
        elapsed = time.monotonic() - start
        clock_frames = frames.count - frames.rows_only
        last = writer.epoch
        await until(pilot, lambda: table.rows_by_number[39].epoch == last, timeout=30)
        await until(pilot, lambda: chart.replots > replots)
        # ~30 epochs a second arrive, yet each line, the header and the chart draw at
        # most once a frame (no timer of their own between frames) ...
        repeated = [d for d, n in Counter(frames.drawn).items() if n > 1]
        assert not repeated, repeated
        # ... frames are coalesced: never closer than ROW_GAP_S (never one per epoch) ...
        assert frames.count <= elapsed / ROW_GAP_S + 2
        # ... row frames redraw only the changed line: the chart and the header (whose
        # clocks moved) wait for the clock frames, which come one a second at most
        assert chart.replots - replots <= clock_frames + 1
        assert frames.kinds("chart") <= clock_frames + 1
        assert frames.kinds("header") <= clock_frames + 1
        assert clock_frames <= elapsed / (FRAME_S / 2) + 2
        own_line = table.get_row_index("39") + 1 - int(table.scroll_offset.y)
        assert {d for d, _ in frames.drawn if d.startswith("line")} == {f"line({own_line},)"}


def row(number: int, epoch: int) -> TrialRow:
    return TrialRow(number=number, state="running", epoch=epoch)


def test_the_frame_clock_sends_an_epoch_at_once_and_coalesces_the_rest() -> None:
    # a clock frame every 3 s, so two row frames fit between clock frames whatever
    # ROW_GAP_S is (at the real 1 s, a 0.5 s gap leaves room for one)
    frame_s = 3.0
    clock = FrameClock(frame_s=frame_s)
    wall, now, gap = 99.5, 10.0, ROW_GAP_S + 0.01  # wall: a full poll on the clock's beat
    clock.polled(SessionDelta(rows=[row(1, 1)], initial=True), live=True, wall=wall)
    first = clock.take(now=now, wall=wall)  # a clock frame with everything
    assert first is not None and not first.rows_only and first.initial
    assert clock.take(now=now, wall=wall) is None  # nothing new
    # a new epoch a gap later: a row frame at once, with only that row
    clock.add(SessionDelta(rows=[row(1, 2)], points={1: [(2, 0.5)]}), metrics=True)
    frame = clock.take(now=now + gap, wall=wall + gap)
    assert frame is not None and frame.rows_only and frame.rows == [row(1, 2)]
    assert not frame.points  # the curve waits for the clock frame
    # epochs arriving faster wait until the last frame is ROW_GAP_S old, then go as one
    clock.add(SessionDelta(rows=[row(1, 3)], points={1: [(3, 0.6)]}), metrics=True)
    clock.add(SessionDelta(rows=[row(2, 7)], points={2: [(7, 0.1)]}), metrics=True)
    assert clock.take(now=now + 1.5 * gap, wall=wall + 1.5 * gap) is None
    frame = clock.take(now=now + 2 * gap, wall=wall + 2 * gap)
    assert frame is not None and frame.rows_only
    assert sorted(r.number for r in frame.rows) == [1, 2]
    # a full poll's rows (a state may have changed) wait for the clock frame ...
    clock.add(SessionDelta(rows=[row(3, 1)]))
    assert clock.take(now=now + 3 * gap, wall=wall + frame_s - CLOCK_NEAR_S - 0.01) is None
    # ... and close to the next clock frame a new epoch waits for it (one redraw, not two)
    clock.add(SessionDelta(rows=[row(2, 8)]), metrics=True)
    assert clock.take(now=now + 3 * gap, wall=wall + frame_s - CLOCK_NEAR_S / 2) is None
    clock.polled(SessionDelta(), live=True, wall=wall + frame_s)
    frame = clock.take(now=now + frame_s, wall=wall + frame_s)
    assert frame is not None and not frame.rows_only
    assert frame.points == {1: [(2, 0.5), (3, 0.6)], 2: [(7, 0.1)]}  # all since the last
    # the rows row frames sent are not sent again (their lines are drawn)
    assert {r.number: r.epoch for r in frame.rows} == {2: 8, 3: 1}
    assert clock.wait(wall + frame_s) == WATCH_S  # live: looks again soon


def test_the_frame_clock_is_quiet_when_nothing_runs() -> None:
    clock = FrameClock()
    clock.polled(SessionDelta(initial=True), live=False, wall=100.0)
    assert clock.take(now=5.0, wall=100.0) is not None  # the first frame
    clock.polled(SessionDelta(), live=False, wall=102.0)
    assert clock.take(now=7.0, wall=102.0) is None  # nothing changed: no frame
    assert clock.poll_due(102.1) and clock.wait(102.1) == IDLE_POLL_S
    clock.add(SessionDelta(rows=[row(1, 1)]))
    assert clock.take(now=7.5, wall=102.5) is None  # no row frames unless live


@pytest.mark.timeout(300)
@sync
async def test_hidden_panes_are_neither_plotted_nor_polled(store: Path) -> None:
    session = write_demo_session(store, trials=40, epochs=20, running=(39,))
    app = KttuiApp(store, session.path, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:  # one pane at a time: the trials
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(TrialTable)
        await until(pilot, lambda: screen.loaded and screen.selected == 39, timeout=180)
        chart = screen.query_one(ChartPane)
        gpu_polls: list[int] = []
        Redraws._wrap(screen.feed, "poll_gpus", lambda: gpu_polls.append(1))
        replots = chart.replots
        epoch = table.rows_by_number[39].epoch or 0
        with Writer(session.trial_dir(39) / "metrics.jsonl", epoch) as writer:
            await until(pilot, lambda: (table.rows_by_number[39].epoch or 0) > epoch + 3)
            await polls_pass(pilot, screen, 3)  # the GPU interval (2 s) fired meanwhile
        await until(pilot, lambda: table.rows_by_number[39].epoch == writer.epoch)
        assert chart.replots == replots and gpu_polls == []
        await pilot.press("tab")  # the chart shows: it draws what it missed
        assert screen.current_pane == "chart"
        await until(pilot, lambda: chart.replots == replots + 1)
        await pilot.press("tab", "tab", "tab")  # the GPUs show: they are polled again
        assert screen.current_pane == "gpus"
        await until(pilot, lambda: gpu_polls)


def test_a_poll_reads_only_what_grew(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = write_demo_session(store, trials=3, epochs=20, running=(2,))
    watcher = SessionWatcher(session)
    watcher.poll()
    epoch = watcher.rows[2].epoch or 0
    best = watcher.rows[2].best or 0.0

    # a poll must not go back over a trial's whole series (its cost grew with the epochs)
    def whole_series(self: EpochLog) -> list[tuple[int, float]]:
        raise AssertionError("a poll re-read the whole series")

    monkeypatch.setattr(EpochLog, "objective_series", whole_series)
    metrics = session.trial_dir(2) / "metrics.jsonl"
    lines = [
        {"epoch": epoch + 1, "val_auc": best + 0.1},
        {"epoch": epoch + 2, "val_auc": float("nan")},  # not a value: the epoch still counts
        {"epoch": epoch + 3, "val_auc": best - 0.2},
    ]
    with open(metrics, "a") as fh:
        fh.write("".join(json.dumps(line) + "\n" for line in lines))
    delta = watcher.poll()
    row = watcher.rows[2]
    assert [r.number for r in delta.rows] == [2]
    assert (row.epoch, row.current, row.best) == (epoch + 3, best - 0.2, best + 0.1)
    assert not watcher.poll()  # nothing grew: nothing changed


def test_a_growing_curve_is_cleaned_only_where_it_grew(monkeypatch: pytest.MonkeyPatch) -> None:
    pane = ChartPane()
    curve = [(1, 0.5), (2, float("nan")), (3, 0.6)]
    assert pane._cleaned(7, curve) == ([1.0, 3.0], [0.5, 0.6])
    cleaned: list[list[tuple[int, float]]] = []
    whole = charts.clean_series

    def counted(points: Any) -> tuple[list[float], list[float]]:
        cleaned.append(list(points))
        return whole(points)

    monkeypatch.setattr(charts, "clean_series", counted)
    curve.append((4, 0.7))
    assert pane._cleaned(7, curve) == ([1.0, 3.0, 4.0], [0.5, 0.6, 0.7])
    assert cleaned == [[(4, 0.7)]]  # only the new point
    assert pane._cleaned(7, [(1, 0.1)]) == ([1.0], [0.1])  # a reloaded curve: afresh
