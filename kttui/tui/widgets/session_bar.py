"""The dashboard's top line: session, runner state, counts and best value.

A separate widget so the header can be replaced on its own; the screen hands
it a :class:`BarState` and it re-renders only when that changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import Static

from kttui.service import RunnerView, TrialRow, format_value
from kttui.tui.guard import SafeRender

STATE_STYLES = {
    "running": "bold cyan",
    "paused": "bold yellow",
    "crashed": "bold red",
    "finished": "green",
}


@dataclass(frozen=True)
class BarState:
    session_id: str
    runner: RunnerView
    metric: str
    counts: dict[str, int] = field(default_factory=dict)
    best: TrialRow | None = None
    baseline: float | None = None
    width: int = 80


def bar_text(s: BarState) -> Text:
    counts, best, runner = s.counts, s.best, s.runner
    total = sum(counts.values())
    budget = f"/{runner.budget}" if runner.budget else ""
    state_style = STATE_STYLES.get(runner.state, "magenta")
    head: list[tuple[str, str] | str] = [(s.session_id, "bold"), "  ", (runner.state, state_style)]
    if best is not None:
        head += ["  best ", (f"{s.metric} {format_value(best.value)}", "bold")]
        head.append(f" #{best.number}")
    long: list[tuple[str, str] | str] = [
        f"  {total}{budget} trials: ",
        (f"{counts.get('complete', 0)} done", "green"),
        (f" {counts.get('running', 0)} run", "cyan"),
        (f" {counts.get('pruned', 0)} pruned", "yellow"),
        (f" {counts.get('fail', 0)} fail", "red"),
    ]
    if s.baseline is not None:
        long.append((f"  baseline {format_value(s.baseline)}", "dim"))
    if runner.reason and runner.state != "running":
        long.append((f"  ({runner.reason})", "dim"))
    text = Text.assemble(*head, *long)
    if text.cell_len > s.width - 2:
        short: list[tuple[str, str] | str] = [
            f"  {total}{budget}",
            (f" ✓{counts.get('complete', 0)}", "green"),
            (f" ▶{counts.get('running', 0)}", "cyan"),
            (f" ✂{counts.get('pruned', 0)}", "yellow"),
            (f" ✗{counts.get('fail', 0)}", "red"),
        ]
        text = Text.assemble(*head, *short)
        if runner.reason and runner.state == "paused":
            text.append(f"  {runner.reason}", "yellow")
    return text


class SessionBar(SafeRender, Static):
    """Shows a :class:`BarState`."""

    guard_name = "header"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: BarState | None = None

    def show(self, state: BarState) -> None:
        if state != self.state:
            self.state = state
            self.update(bar_text(state))
