"""A trial and the runner as the console shows them, built from status files.

Plain frozen values, so the TUI can compare a new row with the one it drew and
repaint only what changed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from kttui.best import maximizing, running_best
from kttui.metricparse import EpochLog
from kttui.safetext import format_value, sanitize

#: Trial states a watcher keeps checking (the others are final).
LIVE_STATES = ("running", "queued")


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


@dataclass(frozen=True, slots=True)
class TrialRow:
    """One trial as the console shows it (from status.json and the metric tail)."""

    number: int
    state: str
    params: tuple[tuple[str, Any], ...] = ()
    epoch: int | None = None
    current: float | None = None
    best: float | None = None
    value: float | None = None
    duration_s: float | None = None
    started_ts: float | None = None
    slot: str | None = None
    gpus: tuple[int, ...] = ()
    reason: str | None = None
    #: the scheduler's view, when a scheduler runs the trial (status.json may omit them)
    job_id: str | None = None
    node: str | None = None
    gres: str | None = None
    #: where a plain filter word is looked for (lower case): number, state, slot, reason,
    #: params. Built with the row, in the reader thread, so filtering ten thousand rows
    #: on the UI thread is a scan of ready strings.
    search_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = " ".join(
            [f"#{self.number}", self.state, self.slot or "", self.reason or ""]
            + [f"{k}={format_value(v)}" for k, v in self.params]
        ).lower()
        object.__setattr__(self, "search_text", text)

    def param(self, name: str) -> Any:
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def elapsed(self, now: float | None = None) -> float | None:
        """Seconds the trial ran (so far, when it is running)."""
        if self.duration_s is not None:
            return self.duration_s
        if self.state == "running" and self.started_ts is not None:
            return (now if now is not None else time.time()) - self.started_ts
        return None


def _parse_started(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def trial_row(status: dict[str, Any], log: EpochLog | None = None) -> TrialRow:
    """A :class:`TrialRow` from a status.json record (and what the metric tail saw)."""
    params = status.get("params") or {}
    epoch = status.get("epoch")
    current, best = _num(status.get("current")), _num(status.get("best"))
    if log is not None and log.last_epoch and log.last_epoch >= int(epoch or 0):
        series = log.objective_series()
        epoch = log.last_epoch
        if series:
            current = series[-1][1]
            best = running_best([v for _, v in series], maximizing(log.direction))[-1]
    gpus = status.get("gpus") or ()
    return TrialRow(
        number=int(status["number"]),
        state=str(status.get("state") or "queued"),
        params=tuple(sorted(params.items())) if isinstance(params, dict) else (),
        epoch=int(epoch) if isinstance(epoch, int | float) and epoch else None,
        current=current,
        best=best,
        value=_num(status.get("value")),
        duration_s=_num(status.get("duration_s")),
        started_ts=_parse_started(status.get("started")),
        slot=status.get("slot"),
        gpus=tuple(int(g) for g in gpus if isinstance(g, int)),
        reason=status.get("reason") or None,
        job_id=_text(status.get("job_id")),
        node=_text(status.get("node")),
        gres=_text(status.get("gres")),
    )


def _text(value: Any) -> str | None:
    """A status field that should be short text (job id, node, GRES), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return sanitize(str(value))[:80] or None


@dataclass(frozen=True)
class RunnerView:
    """The runner as the console shows it."""

    state: str
    reason: str = ""
    alive: bool = False
    launched: int | None = None
    budget: int | None = None
    pid: int | None = None
