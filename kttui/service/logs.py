"""A trial's own files as the log pane and the detail screen show them: stdout/stderr lines
followed by offset, its epoch records, the tail of its stderr.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kttui.metricsfile import FILE_NAME, epoch_records, read_epoch_log
from kttui.safetext import sanitize
from kttui.session import Session, read_json
from kttui.tail import FileTail, last_lines

#: How much of a log file the log pane reads when it opens a trial.
LOG_BACKLOG_BYTES = 64 * 1024


@dataclass(frozen=True)
class LogLine:
    stream: str  # "out" or "err"
    text: str


class LogFollower:
    """The stdout and stderr of one trial: a backlog, then new lines as they come."""

    def __init__(self, session: Session, number: int) -> None:
        self.number = number
        tdir = session.trial_dir(number)
        self._tails = {"out": FileTail(tdir / "stdout.log"), "err": FileTail(tdir / "stderr.log")}
        self._cut: set[str] = set()
        for stream, tail in self._tails.items():
            with contextlib.suppress(OSError):
                size = os.stat(tail.path).st_size
                if size > LOG_BACKLOG_BYTES:
                    tail.offset = size - LOG_BACKLOG_BYTES
                    self._cut.add(stream)

    def read(self) -> list[LogLine]:
        out: list[LogLine] = []
        for stream, tail in self._tails.items():
            lines = tail.read_lines()
            if stream in self._cut and lines:
                lines = lines[1:]  # the backlog started inside a line
                self._cut.discard(stream)
            out.extend(LogLine(stream, sanitize(line)) for line in lines)
        return out

    def close(self) -> None:
        for tail in self._tails.values():
            tail.close()


# --------------------------------------------------------------------- details
@dataclass(frozen=True)
class TrialDetail:
    number: int
    status: dict[str, Any]
    params: dict[str, Any]
    metrics: list[dict[str, Any]]
    stderr_tail: list[str]
    paths: dict[str, str]


def read_metrics(session: Session, number: int) -> list[dict[str, Any]]:
    """Every epoch record of a trial (metrics.jsonl), with the same policy as the runner."""
    return epoch_records(read_epoch_log(session.trial_dir(number) / FILE_NAME))


def read_series(session: Session, number: int, metric: str) -> list[tuple[int, float]]:
    """(epoch, metric) pairs of a trial, for learning curves."""
    out = []
    for rec in read_metrics(session, number):
        value = rec.get(metric)
        if isinstance(rec.get("epoch"), int) and isinstance(value, float) and math.isfinite(value):
            out.append((int(rec["epoch"]), value))
    return out


def _tail_lines(path: Path, lines: int = 40) -> list[str]:
    return [sanitize(line) for line in last_lines(path, lines)]


def trial_detail(session: Session, number: int) -> TrialDetail:
    tdir = session.trial_dir(number)
    status = session.trial_status(number) or {"number": number, "state": "unknown"}
    params = read_json(tdir / "params.json")
    if not isinstance(params, dict):
        params = status.get("params") or {}
    paths = {
        name: str(tdir / name)
        for name in ("params.json", "metrics.jsonl", "stdout.log", "stderr.log", "status.json")
    }
    return TrialDetail(
        number=number,
        status=status,
        params=params,
        metrics=read_metrics(session, number),
        stderr_tail=_tail_lines(tdir / "stderr.log"),
        paths={"trial dir": str(tdir), **paths},
    )
