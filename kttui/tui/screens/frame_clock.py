"""When the dashboard's feed polls, and which frame it sends the screen.

Two kinds of frame, so a new epoch shows promptly while watching stays cheap:

- the clock frame, once a second while anything runs (on the wall clock's half
  seconds), even when nothing changed: everything that moved (every running
  clock, the rows, the curves, the header) lands in it, so each pane redraws
  at most once a second. When nothing runs the feed polls every
  :data:`IDLE_POLL_S` and sends a frame only when something changed;
- between clock frames, a row frame: the feed looks at the running trials'
  metrics files every :data:`WATCH_S` (a ``stat`` each) and sends only the rows
  that changed since the last frame, at most one frame every
  :data:`ROW_GAP_S`, so only those table lines redraw. The new epochs' curve
  points wait for the next clock frame (the charts redraw once a second).

Pure bookkeeping, no threads and no Textual: the feed's worker drives it.
"""

from __future__ import annotations

import math

from kttui.service.rows import TrialRow
from kttui.service.watch import SessionDelta

#: While trials run (or the runner lives) the feed sends one clock frame per FRAME_S ...
FRAME_S = 1.0
#: ... at this offset into each wall-clock second: a running trial's elapsed time (whole
#: seconds since a whole-second start) then steps by one per frame, never skips a digit.
FRAME_PHASE_S = 0.5
#: When nothing runs: poll this often, post only what changed.
IDLE_POLL_S = 2.0
#: While live, how often the running trials' metrics files are looked at between polls.
WATCH_S = 0.1
#: Frames never come closer than this: a row frame waits until the last frame is this old,
#: so 30 epochs a second cost at most a few frames a second.
ROW_GAP_S = 0.5
#: A change this close to the next clock frame waits for it (one redraw, not two).
CLOCK_NEAR_S = 0.2


def next_poll_in(now: float, live: bool, frame_s: float = FRAME_S) -> float:
    """Seconds from ``now`` (wall clock) to the next full poll: the next frame while live."""
    if not live:
        return IDLE_POLL_S
    return frame_s - (now - FRAME_PHASE_S) % frame_s


def merge_delta(into: SessionDelta, more: SessionDelta) -> SessionDelta:
    """One delta saying what two consecutive deltas said."""
    rows = {r.number: r for r in into.rows}
    rows.update((r.number, r) for r in more.rows)
    points = {n: list(p) for n, p in into.points.items()}
    for n, p in more.points.items():
        points.setdefault(n, []).extend(p)
    return SessionDelta(
        rows=list(rows.values()),
        points=points,
        runner=more.runner or into.runner,
        initial=into.initial or more.initial,
        counts=more.counts if more.counts is not None else into.counts,
        best=more.best if more.counts is not None else into.best,
    )


class FrameClock:
    """The feed's schedule: what it polls when, and what goes to the screen now."""

    def __init__(self, frame_s: float = FRAME_S) -> None:
        self.frame_s = frame_s
        self.live = False
        #: wall clock of the next full poll
        self.poll_at = 0.0
        #: what changed since the last clock frame (row frames leave it whole)
        self.carry: SessionDelta | None = None
        #: a full poll wants a clock frame out
        self.owed = False
        #: rows sent by row frames since the last clock frame (a row frame sends only news,
        #: the clock frame only what they did not send)
        self.sent: dict[int, TrialRow] = {}
        #: trials whose rows changed by a metric line only since the last clock frame
        self.quick: set[int] = set()
        #: monotonic times of the last clock frame and of the last frame of either kind
        self.framed_at = -math.inf
        self.posted_at = -math.inf

    def poll_due(self, wall: float) -> bool:
        """Whether to poll the whole session now (else only the running trials' metrics)."""
        return not self.live or wall >= self.poll_at

    def polled(self, delta: SessionDelta, live: bool, wall: float) -> None:
        """A full poll: a clock frame is owed while live, or when something changed."""
        self.live = live
        self.add(delta)
        self.owed = live or self.carry is not None
        self.poll_at = wall + next_poll_in(wall, live, self.frame_s)

    def add(self, delta: SessionDelta, *, metrics: bool = False) -> None:
        """Merge a poll's delta; ``metrics``: from :meth:`SessionWatcher.poll_metrics`, whose
        rows (a running trial's epoch and values, no state change) row frames may send."""
        if delta:
            self.carry = delta if self.carry is None else merge_delta(self.carry, delta)
            if metrics:
                self.quick.update(r.number for r in delta.rows)

    def take(self, now: float, wall: float) -> SessionDelta | None:
        """The frame to send now, if any (the caller holds it back while one is in flight)."""
        if self.owed:
            self.owed = False
            # a poll that overran into the next slot waits: clock frames never bunch up
            if now - self.framed_at >= self.frame_s / 2:
                frame = self.carry or SessionDelta()
                frame.rows = [r for r in frame.rows if self.sent.get(r.number) is not r]
                self.carry, self.sent, self.quick = None, {}, set()
                self.framed_at = self.posted_at = now
                return frame
        carry = self.carry
        if carry is None or not self.live or now - self.posted_at < ROW_GAP_S:
            return None
        if self.poll_at - wall < CLOCK_NEAR_S:
            return None
        news = [
            r for r in carry.rows if r.number in self.quick and self.sent.get(r.number) is not r
        ]
        if not news:
            return None
        self.sent.update((r.number, r) for r in news)
        self.posted_at = now
        return SessionDelta(rows=news, counts=carry.counts, best=carry.best, rows_only=True)

    def wait(self, wall: float) -> float:
        """Seconds until the feed should look again."""
        if not self.live:
            return IDLE_POLL_S
        return max(0.0, min(WATCH_S, self.poll_at - wall))
