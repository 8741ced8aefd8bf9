"""The one reader of a trial's ``metrics.jsonl``: the runner's epoch policy, for everyone.

The runner turns metric lines into epochs with :class:`~kttui.metricparse.EpochLog`
(a line without an ``epoch`` gets the previous epoch + 1, the first record of an
epoch wins, ``{"final": ...}`` lines hold final metrics, bad lines are counted and
skipped). The console's trial view, its learning curves and the report's
analyses read the same file afterwards; they must see the same epochs the
runner reported to Optuna, so they read it here, with the same classes. The file
is read through :class:`~kttui.tail.FileTail`, so a 1 GB line a trial wrote
without a newline is cut, not loaded whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kttui.metricparse import EpochLog, LineParser
from kttui.tail import FileTail

FILE_NAME = "metrics.jsonl"


def read_epoch_log(path: Path, objective: str = "", direction: str = "maximize") -> EpochLog:
    """Every epoch (and the final metrics) of a metrics.jsonl file; a missing file has none."""
    log = EpochLog(objective, direction)
    parser = LineParser("jsonl")
    for line in FileTail(Path(path)).drain():
        log.feed(parser.parse(line))
    return log


def epoch_records(log: EpochLog, *, final: bool = True) -> list[dict[str, Any]]:
    """``{"epoch": n, metric: value, ...}`` per epoch in epoch order, then (``final``)
    ``{"epoch": "final", ...}`` when the trial wrote final metrics."""
    rows: list[dict[str, Any]] = [{"epoch": e, **log.epochs[e]} for e in sorted(log.epochs)]
    if final and log.final:
        rows.append({"epoch": "final", **log.final})
    return rows
