"""The dashboard's header line: where the sweep stands, readable at any width.

The layout is a pure function of the numbers and the width (:func:`header_text`),
so it is tested at 60, 80, 120 and 200 columns without an app. Narrower
terminals get shorter words, then a shorter session name (middle ellipsis);
the numbers themselves are never cut.

The clock moves with its screen's frames: while a sweep is live the feed posts
one a second even when nothing changed (see
:mod:`kttui.tui.screens.dashboard_feed`), so an idle sweep does not read as
frozen, and the header's second, the trials' clocks and any new rows are drawn
in one frame rather than one per timer. The line re-renders only when its text
changed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from kttui.safetext import format_value
from kttui.service.rows import TrialRow, format_duration

STATE_STYLES = {
    "running": "bold cyan",
    "paused": "bold yellow",
    "crashed": "bold red",
    "finished": "green",
}
#: The session name is never squeezed below this many cells while words can be shortened.
MIN_NAME = 12
FINISHED = ("complete", "pruned", "fail")


@dataclass(frozen=True)
class HeaderInfo:
    """What the header shows; all of it comes from the session watcher."""

    name: str
    state: str
    counts: Mapping[str, int] = field(default_factory=dict)
    budget: int | None = None
    metric: str = "value"
    best_value: float | None = None
    best_trial: int | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None
    reason: str = ""

    @property
    def done(self) -> int:
        """Trials that ended (complete, pruned or failed)."""
        return sum(self.counts.get(s, 0) for s in FINISHED)

    @property
    def total(self) -> int:
        """The sweep's budget, or the trials seen when it has none."""
        seen = sum(self.counts.values())
        return max(self.budget or 0, seen)


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its middle replaced by '…' when too long."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return "…"
    head = width // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def _duration(seconds: float | None, short: bool = False) -> str:
    """A duration; ``short`` drops the seconds past a minute (12m, 1h05m)."""
    text = format_duration(seconds) if seconds is not None else "-"
    if short and "m" in text and text.endswith("s"):
        text = text.split("m")[0] + "m"
    return text


def _parts(info: HeaderInfo, level: int) -> list[tuple[str, str]]:
    """The header after the name, from the most spelled-out (0) to the tersest (3)."""
    c = info.counts
    sep = ("  " if level < 2 else " ", "")
    done = f"done {info.done}/{info.total}"
    out: list[tuple[str, str]] = [(info.state, STATE_STYLES.get(info.state, "magenta")), sep]
    out.append((done, "bold"))
    words = level == 0
    running = c.get("running", 0)
    out.append((f" · ▶{running} running" if level < 3 else f" ▶{running}", "cyan"))
    queued = c.get("queued", 0)
    if queued and level < 3:  # not one of the counts that must always show
        out.append((f" ◷{queued} queued" if words else f" ◷{queued}", "dim"))
    out.append((f" ✓{c.get('complete', 0)}" + (" complete" if words else ""), "green"))
    out.append((f" ✂{c.get('pruned', 0)}" + (" pruned" if words else ""), "yellow"))
    out.append((f" ✗{c.get('fail', 0)}" + (" failed" if words else ""), "red"))
    out.append(sep)
    if info.best_value is not None:
        label = f"best {info.metric} " if level < 2 else "best "
        out.append((f"{label}{format_value(info.best_value)}", "bold"))
        out.append((f" #{info.best_trial}" if info.best_trial is not None else "", ""))
    else:
        out.append(("best -", "dim"))
    out.append(sep)
    short = level == 3
    elapsed, eta = _duration(info.elapsed_s, short), _duration(info.eta_s, short)
    if level < 2:
        out.append((f"elapsed {elapsed} · ETA {eta}", ""))
    else:
        out.append((f"{elapsed} ETA {eta}", ""))
    if info.reason and level == 0:
        out.append((f"  ({info.reason})", "dim"))
    return out


def header_text(info: HeaderInfo, width: int) -> Text:
    """The header line in ``width`` cells: the numbers always, the name as room allows."""
    levels = [_parts(info, level) for level in range(4)]
    sizes = [sum(cell_len(t) for t, _ in parts) + 2 for parts in levels]
    # the whole name with the most words that fit; else a name of MIN_NAME cells
    fits = [i for i, size in enumerate(sizes) if size + len(info.name) <= width]
    if not fits:
        fits = [i for i, size in enumerate(sizes) if size + MIN_NAME <= width] or [3]
    chosen, room = levels[fits[0]], width - sizes[fits[0]]
    name = middle_ellipsis(info.name, room) if room >= 4 else ""
    parts = ([(name, "bold"), ("  ", "")] if name else []) + chosen
    text = Text.assemble(*parts, no_wrap=True, end="")
    return text


def parse_ts(text: object) -> float | None:
    """Seconds since the epoch of an ISO time stamp (session.json's ``created``), or None."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def elapsed_and_eta(
    created_ts: float | None,
    rows: Iterable[TrialRow],
    counts: Mapping[str, int],
    budget: int | None,
    *,
    alive: bool,
    now: float | None = None,
) -> tuple[float | None, float | None]:
    """Wall time since the sweep began and a naive ETA from the rate so far.

    A stopped sweep's clock ends at its last trial's end, so a finished
    session reads the same tomorrow. ``rows`` is only walked when not alive.
    """
    if created_ts is None:
        return None, None
    now = time.time() if now is None else now
    end = now
    if not alive:
        ends = [
            r.started_ts + r.duration_s
            for r in rows
            if r.started_ts is not None and r.duration_s is not None
        ]
        end = max(ends) if ends else created_ts
    elapsed = max(0.0, end - created_ts)
    done = sum(counts.get(s, 0) for s in FINISHED)
    total = max(budget or 0, sum(counts.values()))
    if not alive or total <= done:
        return elapsed, 0.0 if total and total <= done else None
    if done == 0 or elapsed <= 0:
        return elapsed, None
    eta = (total - done) * elapsed / done
    return elapsed, eta if math.isfinite(eta) else None


class SessionHeader(Static):
    """The header line; re-laid out when the terminal is resized."""

    DEFAULT_CSS = """
    SessionHeader { height: 1; text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.info: HeaderInfo | None = None
        self._shown: Text | None = None

    def show(self, info: HeaderInfo) -> None:
        if info != self.info:
            self.info = info
            self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self.info is not None:
            width = self.content_region.width or self.app.size.width
            text = header_text(self.info, max(1, width))
            if text != self._shown:  # a frame that changes no digit renders nothing
                self._shown = text
                # one line, always: no layout pass (it re-arranged every pane each second)
                self.update(text, layout=False)
