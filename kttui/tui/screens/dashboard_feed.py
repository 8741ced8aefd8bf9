"""The dashboard's data feed: three workers, one per update rate.

- fast: the session's rows and epochs, the selected trial's log and curve.
  It is also the dashboard's frame clock (:class:`FrameClock`): while anything
  runs, a clock frame a second with everything that moved, and between them
  row frames with only a running trial's new epoch, a few a second at most.
  When nothing runs it polls every couple of seconds and posts only changes; a
  new selection wakes it at once;
- slow and exclusive: the advice pane's analysis, recomputed only when a
  trial finished, at most every few seconds (it can take a second on big
  sweeps and must never hold up the rows);
- interval: the GPU inventory, every couple of seconds while the GPU pane is
  on screen.

The feed is an invisible widget whose messages bubble to its screen, so the
screen only routes what arrives. Workers share the newest rows through one
reference swap (a list replaced, never mutated). Waits are single waits on an
event (no polling in slices), so a quiet console sleeps; a live one wakes
every :data:`~kttui.tui.screens.frame_clock.WATCH_S` for a ``stat`` per running trial.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from textual import work
from textual.widget import Widget
from textual.worker import Worker, get_current_worker

from kttui.chartdata import TOP_K, top_trials
from kttui.service.gpus import gpu_snapshot
from kttui.service.logs import LogFollower, read_series
from kttui.service.rows import RunnerView, TrialRow
from kttui.service.specs import session_backend
from kttui.service.stats import session_stats
from kttui.service.watch import SessionDelta, SessionWatcher
from kttui.session import Session
from kttui.tui.first_frame import after_first_frame
from kttui.tui.messages import CurveLoaded, GpuPolled, LogRead, SessionChanged, StatsReady
from kttui.tui.screens.frame_clock import FRAME_S, FrameClock

GPU_EVERY_S = 2.0
STATS_EVERY_S = 3.0
#: The stderr lines the advice pane shows when launching paused on failures.
PAUSE_TAIL_LINES = 12


@dataclass(frozen=True)
class Snapshot:
    """What the fast worker last saw, for the slower ones."""

    rows: tuple[TrialRow, ...] = ()
    runner: RunnerView = field(default_factory=lambda: RunnerView("created"))
    metric: str = "value"
    maximize: bool = True


def pause_notice(session: Session, snap: Snapshot) -> str:
    """Markdown for the advice pane when the runner paused on identical failures."""
    runner = snap.runner
    if runner.state != "paused" or not runner.reason.startswith("launching paused"):
        return ""
    failed = sorted((r.number for r in snap.rows if r.state == "fail"), reverse=True)
    tail: list[str] = []
    if failed:
        status = session.trial_status(failed[0]) or {}
        tail = [str(line) for line in status.get("stderr_tail") or []][-PAUSE_TAIL_LINES:]
    block = "\n".join(tail) or "(stderr was empty)"
    return (
        f"**Launching paused**\n\n{runner.reason}\n\n"
        f"stderr of trial {failed[0] if failed else '?'}:\n\n```\n{block}\n```\n\n"
    )


class DashboardFeed(Widget):
    """Follows one session in background threads and posts what changed."""

    DEFAULT_CSS = "DashboardFeed { display: none; }"

    def __init__(self, session: Session, *, frame_s: float = FRAME_S) -> None:
        super().__init__()
        self.session = session
        self.frame_s = frame_s
        #: set while a SessionChanged is on its way: deltas merge until it is handled
        self.inflight = threading.Event()
        self.loaded_curves: set[int] = set()
        self._snapshot = Snapshot()
        self._wake_advice = threading.Event()
        self._backend = session_backend(session)
        self._next_top = 0.0
        self._log_target: int | None = None
        #: set to cut the fast worker's wait short (a new selection, unmount)
        self._wake = threading.Event()
        self._last_gpus: object = None
        #: the screen says whether the GPU pane is on screen (hidden: not polled)
        self.gpus_wanted: Callable[[], bool] = lambda: True
        #: full polls of the fast worker so far (tests wait on it)
        self.polls = 0
        self._done_before = -1

    def on_mount(self) -> None:
        # after the first frame: reading ten thousand status files in a thread takes
        # the GIL from the UI thread half the time, and the first paint waited for it
        after_first_frame(self, self.follow)
        self.advise()  # the GPU pane's first poll waits for the first rows (follow)
        self.set_interval(GPU_EVERY_S, self._poll_shown_gpus)

    def on_unmount(self) -> None:
        self._wake.set()
        self._wake_advice.set()

    @property
    def log_target(self) -> int | None:
        """The trial whose log and curve the fast worker follows (set: it looks now)."""
        return self._log_target

    @log_target.setter
    def log_target(self, number: int | None) -> None:
        if number != self._log_target:
            self._log_target = number
            self._wake.set()

    def _sleep(self, worker: Worker[None], seconds: float) -> None:
        """Up to ``seconds``; cut short by :attr:`_wake` (a new selection, unmount)."""
        if not worker.is_cancelled and self._wake.wait(seconds):
            self._wake.clear()

    def delivered(self) -> None:
        """The screen applied a SessionChanged: the next one may go."""
        self.inflight.clear()

    def forget_curve(self, number: int) -> None:
        self.loaded_curves.discard(number)

    # -- fast: rows, epochs, log, curves ---------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="feed-fast")
    def follow(self) -> None:
        worker = get_current_worker()
        watcher = SessionWatcher(self.session)
        follower: LogFollower | None = None
        frames = FrameClock(self.frame_s)
        try:
            while not worker.is_cancelled:
                if frames.poll_due(time.time()):
                    delta = watcher.poll()
                    self.polls += 1
                    self._polled(watcher, delta)
                    live = watcher.runner.alive or watcher.counts().get("running", 0) > 0
                    frames.polled(delta, live, time.time())
                    follower = self._follow_log(follower)
                else:  # between frames: only the running trials' new epochs
                    frames.add(watcher.poll_metrics(), metrics=True)
                    if follower is None or follower.number != self.log_target:
                        follower = self._follow_log(follower)  # a new selection: at once
                if not self.inflight.is_set():
                    message = frames.take(time.monotonic(), time.time())
                    if message is not None:
                        self.inflight.set()
                        self.post_message(SessionChanged(message))
                self._load_curve(watcher)
                self._load_top_curves(watcher)
                self._sleep(worker, frames.wait(time.time()))
        finally:
            watcher.close()
            if follower is not None:
                follower.close()

    def _polled(self, watcher: SessionWatcher, delta: SessionDelta) -> None:
        """A full poll's side effects: the snapshot for the slow workers, their wake-ups."""
        if not delta:
            return
        self._snapshot = Snapshot(
            tuple(watcher.rows.values()), watcher.runner, watcher.metric, watcher.maximize
        )
        if delta.initial:  # the GPU pane names the trials holding GPUs
            self.app.call_from_thread(self.poll_gpus)
        counts = watcher.counts()
        done = counts.get("complete", 0) + counts.get("fail", 0)
        if done != self._done_before or delta.runner is not None:
            self._done_before = done
            self._wake_advice.set()

    def _follow_log(self, follower: LogFollower | None) -> LogFollower | None:
        target = self.log_target
        if follower is None or follower.number != target:
            if follower is not None:
                follower.close()
            follower = LogFollower(self.session, target) if target is not None else None
            lines = follower.read() if follower is not None else []
            self.post_message(LogRead(target, lines, reset=True))
        elif follower is not None:
            lines = follower.read()
            if lines:
                self.post_message(LogRead(target, lines))
        return follower

    def _load_curve(self, watcher: SessionWatcher) -> None:
        target = self.log_target
        if target is None or target in watcher.series or target in self.loaded_curves:
            return
        self.loaded_curves.add(target)
        series = read_series(self.session, target, watcher.metric)
        self.post_message(CurveLoaded(target, series))

    def _load_top_curves(self, watcher: SessionWatcher) -> None:
        """The top K trials' curves, for the overlay (finished trials are not tailed)."""
        now = time.monotonic()
        if now < self._next_top:
            return
        self._next_top = now + GPU_EVERY_S
        for number in top_trials(watcher.rows.values(), TOP_K, watcher.maximize):
            if number in watcher.series or number in self.loaded_curves:
                continue
            self.loaded_curves.add(number)
            series = read_series(self.session, number, watcher.metric)
            self.post_message(CurveLoaded(number, series))

    # -- slow: the advice pane ----------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="feed-advice")
    def advise(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            if not self._wake_advice.wait(STATS_EVERY_S * 10):
                continue
            self._wake_advice.clear()
            if worker.is_cancelled:
                break
            snap = self._snapshot
            rows = list(snap.rows)
            stats = session_stats(
                self.session,
                rows,
                maximize=snap.maximize,
                metric=snap.metric,
                cancelled=lambda: worker.is_cancelled,
            )
            markdown = pause_notice(self.session, snap) + stats.markdown
            if not worker.is_cancelled:
                self.post_message(StatsReady(markdown, stats.analysis))
            worker.cancelled_event.wait(STATS_EVERY_S)

    # -- interval: GPUs ----------------------------------------------------------
    def _poll_shown_gpus(self) -> None:
        """The interval's poll: only while the GPU pane is on screen (its Show polls too)."""
        if self.gpus_wanted():
            self.poll_gpus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="feed-gpus")
    def poll_gpus(self) -> None:
        snapshot = gpu_snapshot(self._snapshot.rows, backend=self._backend)
        if not get_current_worker().is_cancelled and snapshot != self._last_gpus:
            self._last_gpus = snapshot  # the same inventory again: nothing to redraw
            self.post_message(GpuPolled(snapshot))
