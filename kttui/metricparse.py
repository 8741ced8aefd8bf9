"""Turning metric lines into epochs, with one stated policy for bad input.

Policy (the runner never crashes on what a trial prints):

* a line that is not valid JSON (jsonl) is counted in ``bad_lines`` and skipped;
  so is any line the parser cannot make sense of (``Infinity`` as an epoch, JSON
  nested 100 000 deep, numbers too large for a float): no byte sequence a trial
  writes may stop the runner; for regex formats, lines that do not match are
  ordinary output, not errors;
* a value that is not a number is ignored; NaN/inf are kept in the record but
  never reported to Optuna (``nonfinite`` counts them);
* an epoch seen a second time (a restarted loop, a re-created file) is ignored:
  the first record of an epoch wins, so each epoch reaches Optuna at most once;
* a line without an ``epoch`` gets the previous epoch + 1;
* ``{"final": {...}}`` holds final metrics, which win over per-epoch values.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

_NUM = r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|-inf)"
#: pykt-toolkit's per-epoch line from ``wandb_train.py`` / ``train_model``; releases
#: print ``loss:`` or ``train loss:`` for the training loss, both are read.
PYKT_PATTERN = (
    rf"Epoch:\s*(?P<epoch>\d+),\s*validauc:\s*(?P<validauc>{_NUM}),\s*"
    rf"validacc:\s*(?P<validacc>{_NUM}),\s*best epoch:\s*(?P<best_epoch>\d+),\s*"
    rf"best auc:\s*(?P<best_auc>{_NUM}),\s*(?:train )?loss:\s*(?P<train_loss>{_NUM})"
)
PYKT_METRICS = ("validauc", "validacc", "best_epoch", "best_auc", "train_loss")


@dataclass(frozen=True)
class Parsed:
    kind: Literal["epoch", "final"]
    values: dict[str, float]
    epoch: int | None = None


class LineParser:
    """Parses one line of trial output; ``None`` means 'not a metric line'."""

    def __init__(self, fmt: str, pattern: str | None = None) -> None:
        self.fmt = fmt
        if fmt == "pykt":
            pattern = PYKT_PATTERN
        self.regex = re.compile(pattern) if fmt in ("regex", "pykt") and pattern else None
        from kttui.pyktlines import PyktFinals  # it builds on this module's number pattern

        self.pykt_finals = PyktFinals() if fmt == "pykt" else None

    def parse(self, line: str) -> Parsed | Literal[False] | None:
        """A :class:`Parsed`, ``None`` (not a metric line) or ``False`` (a bad line)."""
        try:
            return self._parse(line)
        except (ValueError, TypeError, OverflowError, RecursionError, MemoryError):
            return False

    def _parse(self, line: str) -> Parsed | Literal[False] | None:
        if self.regex is not None:
            match = self.regex.search(line)
            if match is None:
                finals = self.pykt_finals.parse(line) if self.pykt_finals else None
                return Parsed("final", finals) if finals else None
            values = {k: _number(v) for k, v in match.groupdict().items() if v is not None}
            clean = {k: v for k, v in values.items() if v is not None}
            raw_epoch = clean.pop("epoch", None)
            return Parsed("epoch", clean, int(raw_epoch) if raw_epoch is not None else None)
        text = line.strip()
        if not text:
            return None
        obj = json.loads(text)
        if not isinstance(obj, dict):
            return False
        if isinstance(obj.get("final"), dict):
            return Parsed("final", _numbers(obj["final"]))
        epoch_raw = obj.pop("epoch", None)
        if epoch_raw is None:
            return Parsed("epoch", _numbers(obj), None)
        if isinstance(epoch_raw, bool) or not isinstance(epoch_raw, int | float | str):
            return False
        return Parsed("epoch", _numbers(obj), int(epoch_raw))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _float(value: bool | int | float) -> float:
    """A JSON integer too large for a float is an infinite value, not a crash."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _numbers(obj: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in obj.items():
        if isinstance(value, bool | int | float):
            out[str(key)] = _float(value)
    return out


@dataclass
class EpochLog:
    """The epochs of one trial so far, with counts of what the policy dropped."""

    objective: str
    direction: str = "maximize"
    epochs: dict[int, dict[str, float]] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    bad_lines: int = 0
    duplicate_epochs: int = 0
    nonfinite: int = 0
    last_epoch: int = 0

    def feed(self, parsed: Parsed | Literal[False] | None) -> tuple[int, dict[str, float]] | None:
        """Record a parsed line; return ``(epoch, values)`` when it is a new epoch."""
        if parsed is None:
            return None
        if parsed is False:
            self.bad_lines += 1
            return None
        if parsed.kind == "final":
            self.final.update(parsed.values)
            return None
        epoch = parsed.epoch if parsed.epoch is not None else self.last_epoch + 1
        if epoch in self.epochs:
            self.duplicate_epochs += 1
            return None
        self.nonfinite += sum(1 for v in parsed.values.values() if not math.isfinite(v))
        self.epochs[epoch] = parsed.values
        self.last_epoch = max(self.last_epoch, epoch)
        return epoch, parsed.values

    def objective_series(self) -> list[tuple[int, float]]:
        """(epoch, objective) pairs with finite values, in epoch order."""
        out = []
        for epoch in sorted(self.epochs):
            value = self.epochs[epoch].get(self.objective)
            if value is not None and math.isfinite(value):
                out.append((epoch, value))
        return out

    def value(self, summary: str) -> float | None:
        """The trial's objective value: a final line wins, else best or last epoch."""
        if self.objective in self.final:
            return self.final[self.objective]
        series = self.objective_series()
        if not series:
            return None
        if summary == "last":
            return series[-1][1]
        pick = max if self.direction == "maximize" else min
        return pick(v for _, v in series)

    def best_epoch(self) -> int | None:
        series = self.objective_series()
        if not series:
            return None
        if self.direction == "maximize":
            return max(series, key=lambda ev: ev[1])[0]
        return min(series, key=lambda ev: ev[1])[0]
