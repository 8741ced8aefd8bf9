"""One session directory followed poll by poll: the dashboard's source of rows and curve points.

Reads only what changed since the last poll, so a sweep of thousands of trials
costs the console a few ``stat`` calls per tick.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kttui.best import best as best_trial
from kttui.best import is_better, maximizing
from kttui.heartbeat import describe, silent_for
from kttui.metricparse import EpochLog, LineParser
from kttui.metricsfile import FILE_NAME
from kttui.service.rows import LIVE_STATES, RunnerView, TrialRow, trial_row
from kttui.session import ACTIVE_STATES, Session, read_json
from kttui.tail import FileTail

#: A full rescan of the trial directory at least this often (seconds).
RESCAN_S = 5.0


@dataclass
class SessionDelta:
    """What changed in a session since the previous poll."""

    rows: list[TrialRow] = field(default_factory=list)
    points: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    runner: RunnerView | None = None
    initial: bool = False
    #: trials per state and the best completed trial, when rows changed
    counts: dict[str, int] | None = None
    best: TrialRow | None = None
    #: only rows to show now (running trials' new epochs); the rest waits for the frame
    rows_only: bool = False

    def __bool__(self) -> bool:
        return bool(self.rows or self.points or self.runner or self.initial)


@dataclass
class _Progress:
    """A live trial's newest epoch and objective and its best so far, kept as lines arrive.

    Recomputing them from the whole series made every poll cost grow with the
    epochs a trial had written (days of epochs on a long sweep).
    """

    log: EpochLog
    at: int = -1  # the epoch ``current`` belongs to
    current: float | None = None
    best: float | None = None

    def add(self, points: list[tuple[int, float]], maximize: bool) -> None:
        for epoch, value in points:
            if epoch >= self.at:
                self.at, self.current = epoch, value
            if is_better(value, self.best, maximize):
                self.best = value

    def apply(self, row: TrialRow) -> TrialRow:
        """``row`` with what the tail saw, when the tail is at or ahead of status.json."""
        last = self.log.last_epoch
        if not last or last < (row.epoch or 0):
            return row
        if self.current is None:
            return dataclasses.replace(row, epoch=last)
        return dataclasses.replace(row, epoch=last, current=self.current, best=self.best)


class _Lines:
    """New complete lines of a growing file, read by offset (events.jsonl)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self, limit: int = 1 << 22) -> list[str]:
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:
                    self.offset, self.partial = 0, b""
                if size == self.offset:
                    return []
                fh.seek(self.offset)
                data = fh.read(min(limit, size - self.offset))
        except OSError:
            return []
        self.offset += len(data)
        parts = (self.partial + data).split(b"\n")
        self.partial = parts.pop()
        return [p.decode("utf-8", errors="replace") for p in parts]


class SessionWatcher:
    """Follows one session directory; :meth:`poll` returns only what changed.

    Status files are re-read when a trial is new, still live, or named by a new
    line of events.jsonl; the trial directory is rescanned when its mtime moves
    (and every few seconds). Live trials' metrics.jsonl files are tailed by
    offset, so a new epoch shows before the runner rewrites status.json.
    """

    def __init__(self, session: Session, *, follow_metrics: bool = True) -> None:
        self.session = session
        info = session.info()
        objective = info.get("objective") or {}
        self.info = info
        self.metric: str = str(objective.get("metric") or "value")
        self.direction: str = str(objective.get("direction") or "maximize")
        self.follow_metrics = follow_metrics
        self.rows: dict[int, TrialRow] = {}
        self.series: dict[int, list[tuple[int, float]]] = {}
        self.runner = RunnerView("created")
        self._stat: dict[int, tuple[int, int]] = {}
        self._known: set[int] = set()
        self._live: set[int] = set()
        self._dir_mtime: int | None = None
        self._rescan_at = 0.0
        self._events = _Lines(session.events_path)
        self._tails: dict[int, tuple[FileTail, _Progress]] = {}
        self._parser = LineParser("jsonl")
        self._runner_sig: tuple[Any, ...] | None = None
        self._polled = False
        self._counts: Counter[str] = Counter()
        self._best: TrialRow | None = None

    @property
    def maximize(self) -> bool:
        return maximizing(self.direction)

    def close(self) -> None:
        for tail, _ in self._tails.values():
            tail.close()
        self._tails.clear()

    def _scan(self, now: float, packed: dict[int, dict[str, Any]]) -> set[int]:
        if packed:  # an import: never changes
            return set(packed) - self._known
        try:
            mtime = os.stat(self.session.trials_dir).st_mtime_ns
        except OSError:
            return set()
        if mtime == self._dir_mtime and now < self._rescan_at:
            return set()
        self._dir_mtime, self._rescan_at = mtime, now + RESCAN_S
        try:
            names = os.listdir(self.session.trials_dir)
        except OSError:
            return set()
        numbers = {int(n) for n in names if n.isdigit()}
        return numbers - self._known

    def _read_status(self, number: int, packed: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
        if packed:
            if number in self._stat:
                return None
            self._stat[number] = (0, 0)
            return packed.get(number)
        path = self.session.trial_dir(number) / "status.json"
        try:
            st = os.stat(path)
        except OSError:
            return None
        sig = (st.st_mtime_ns, st.st_size)
        if self._stat.get(number) == sig:
            return None
        data = read_json(path)
        if not isinstance(data, dict) or "number" not in data:
            return None
        self._stat[number] = sig
        return data

    def _tail(self, number: int) -> list[tuple[int, float]]:
        entry = self._tails.get(number)
        if entry is None:
            tail = FileTail(self.session.trial_dir(number) / FILE_NAME)
            entry = (tail, _Progress(EpochLog(self.metric, self.direction)))
            self._tails[number] = entry
        tail, progress = entry
        new: list[tuple[int, float]] = []
        for line in tail.read_lines():
            record = progress.log.feed(self._parser.parse(line))
            if record is None:
                continue
            value = record[1].get(self.metric)
            if value is not None and math.isfinite(value):
                new.append((record[0], value))
        if new:
            self.series.setdefault(number, []).extend(new)
            progress.add(new, self.maximize)
        return new

    def _runner_view(self) -> RunnerView:
        runner = self.session.runner() or {}
        state = self.session.state()
        alive = state in ACTIVE_STATES
        silent = silent_for(runner) if alive else None
        return RunnerView(
            state=state,
            reason=describe(silent) if silent is not None else str(runner.get("reason") or ""),
            alive=alive,
            launched=runner.get("launched"),
            budget=runner.get("budget"),
            pid=runner.get("pid"),
        )

    def poll_metrics(self) -> SessionDelta:
        """Only the live trials' new metric lines: one ``stat`` per live trial, reads what grew.

        Cheap enough to run many times a second between full polls, so a new
        epoch shows promptly. Statuses, events and the runner wait for
        :meth:`poll`: a metric line changes no state, count or best completed
        trial, only its trial's epoch and values.
        """
        delta = SessionDelta()
        for number in sorted(self._live) if self.follow_metrics else ():
            entry = self._tails.get(number)
            if entry is None:
                continue  # tailed from the first poll that saw it live
            try:
                size = os.stat(entry[0].path).st_size
            except OSError:
                continue
            if size == entry[0].offset:
                continue
            points = self._tail(number)
            row = self.rows.get(number)
            if points:
                delta.points[number] = points
                if row is not None:
                    self._update(entry[1].apply(row), delta)
        return delta

    def poll(self) -> SessionDelta:
        now = time.monotonic()
        delta = SessionDelta(initial=not self._polled)
        self._polled = True
        runner = self._runner_view()
        if runner != self.runner or delta.initial:
            self.runner = runner
            delta.runner = runner
        touched: set[int] = set()
        for line in self._events.read():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            trial = event.get("trial") if isinstance(event, dict) else None
            if isinstance(trial, int):
                touched.add(trial)
        packed = self.session.packed_statuses()  # one stat per poll, not one per trial
        new = self._scan(now, packed)
        self._known |= new
        check = (touched & self._known) | new | self._live
        for number in sorted(check):
            status = self._read_status(number, packed)
            live = self.follow_metrics and (
                (status is not None and status.get("state") in LIVE_STATES)
                or (status is None and number in self._live)
            )
            points = self._tail(number) if live else []
            if points:
                delta.points[number] = points
            if status is None:
                row = self.rows.get(number)
                if points and row is not None:
                    self._update(self._tails[number][1].apply(row), delta)
                continue
            if status.get("state") in LIVE_STATES:
                self._live.add(number)
            else:
                self._live.discard(number)
                entry = self._tails.pop(number, None)
                if entry is not None:
                    # last lines written before the trial ended
                    entry[0].close()
            row = trial_row(status)
            if live:
                row = self._tails[number][1].apply(row)
            self._update(row, delta)
        if delta.rows or delta.initial:
            delta.counts = dict(self.counts())
            delta.best = self._best
        return delta

    def _update(self, row: TrialRow, delta: SessionDelta) -> None:
        if self.rows.get(row.number) != row:
            self._set_row(row)
            delta.rows.append(row)

    # -- derived views ----------------------------------------------------------
    def _set_row(self, row: TrialRow) -> None:
        old = self.rows.get(row.number)
        if old is not None:
            self._counts[old.state] -= 1
        self._counts[row.state] += 1
        self.rows[row.number] = row
        best = self._best
        if best is not None and best.number == row.number:
            self._best = self._find_best()  # rare: the best trial itself changed
        elif self._better(row, best):
            self._best = row

    def _better(self, row: TrialRow, best: TrialRow | None) -> bool:
        than = best.value if best is not None else None
        return row.state == "complete" and is_better(row.value, than, self.maximize)

    def _find_best(self) -> TrialRow | None:
        done = sorted(
            (r for r in self.rows.values() if r.state == "complete"), key=lambda r: r.number
        )
        return best_trial(done, lambda r: r.value, self.maximize)

    def counts(self) -> Counter[str]:
        """Trials per state (kept up to date by :meth:`poll`)."""
        return +self._counts

    def best(self) -> TrialRow | None:
        """The best completed trial (kept up to date by :meth:`poll`)."""
        return self._best
