"""The progress output of ``kttui run --foreground`` and ``kttui demo --no-tui``.

On a terminal it is one bar redrawn in place. Anywhere else (CI logs, ``nohup``,
a pipe) every line stays forever, so a line per change would bury the log: a
500-trial sweep changes its counts a thousand times. There a line is written only
when the sweep's state changes, when another :data:`EVERY_PCT` of the budget is
done, or when the counts changed and :data:`EVERY_S` passed since the last line.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

#: Off a terminal: a line per this share of the budget done ...
EVERY_PCT = 10.0
#: ... or, if the counts changed at all, at least this often.
EVERY_S = 30.0
BAR_WIDTH = 24


class Progress:
    """Call it with each runner status; it decides whether and how to show it."""

    def __init__(
        self,
        session_id: str,
        stream: Any = None,
        every_pct: float = EVERY_PCT,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.session_id = session_id
        self.every_pct = every_pct
        self.every_s = every_s
        self.clock = clock
        self.last = ""  # the newest line, written or not
        self.written = ""  # off a terminal: the last line written
        self.shown: tuple[str, float, float] | None = None  # its (state, % done, when)

    def __call__(self, status: dict[str, Any]) -> None:
        budget = max(1, int(status.get("budget") or 1))
        launched = int(status.get("launched") or 0)
        running = len(status.get("running") or [])
        done = max(0, launched - running)
        filled = min(BAR_WIDTH, round(BAR_WIDTH * done / budget))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        state = str(status.get("state"))
        line = f"[{bar}] {done}/{budget} done, {running} running, state {state}"
        if line == self.last:
            return
        self.last = line
        if self.tty:
            self.stream.write("\r" + line.ljust(79))
        elif self._due(state, 100.0 * done / budget):
            self.stream.write(line + "\n")
            self.written = line
        else:
            return
        self.stream.flush()

    def _due(self, state: str, pct: float) -> bool:
        """Off a terminal: is this change worth a line of its own?"""
        now = self.clock()
        if self.shown is not None:
            shown_state, shown_pct, shown_at = self.shown
            if (
                state == shown_state
                and pct < shown_pct + self.every_pct
                and now - shown_at < self.every_s
            ):
                return False
        self.shown = (state, pct, now)
        return True

    def close(self) -> None:
        """End the bar's line on a terminal; elsewhere write the last line if it was held back."""
        if self.tty and self.last:
            self.stream.write("\n")
        elif not self.tty and self.last != self.written:
            self.stream.write(self.last + "\n")
        self.stream.flush()
