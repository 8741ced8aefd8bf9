"""Spot a sweep whose trials all die the same way before their first epoch.

A typo in the command, a missing data file or a wrong environment makes every
trial fail within seconds, and a runner that keeps launching burns every slot
(and, on SLURM, the user's fair share) on the same error. When the first N
trials finished since launching (re)started all failed with the same exit code
and never wrote a metric line, the runner pauses and says why; ``resume``
starts a new count, so a user who fixed the cause is not stopped again by the
failures that came before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outcome:
    """How one trial ended, as far as the streak cares."""

    number: int
    failed: bool
    exit_code: int | None
    epochs: int
    stderr_tail: Sequence[str] = ()


@dataclass(frozen=True)
class Streak:
    """N identical early failures: why launching paused."""

    numbers: tuple[int, ...]
    exit_code: int | None
    stderr_tail: tuple[str, ...]

    @property
    def reason(self) -> str:
        code = "no exit code" if self.exit_code is None else f"exit code {self.exit_code}"
        first = ", ".join(f"#{n}" for n in self.numbers)
        last = next((s.strip() for s in reversed(self.stderr_tail) if s.strip()), "")
        why = f": {last[:160]}" if last else ""
        return (
            f"launching paused: the first {len(self.numbers)} trials ({first}) failed "
            f"before any epoch with {code}{why}; fix the cause, then resume (r)"
        )


@dataclass
class FailStreak:
    """Counts identical early failures among the first trials since (re)start.

    ``limit`` 0 turns the check off. Once a trial gets past its first epoch or
    completes, the sweep is known to work and the check stays quiet until
    ``reset`` (a resume by the user).
    """

    limit: int = 3
    seen: list[Outcome] = field(default_factory=list)
    settled: bool = False

    def add(self, outcome: Outcome) -> Streak | None:
        """Record a finished trial; a :class:`Streak` when launching should pause."""
        if self.limit <= 0 or self.settled:
            return None
        if not outcome.failed or outcome.epochs > 0:
            self.settled = True
            return None
        if self.seen and self.seen[0].exit_code != outcome.exit_code:
            self.settled = True  # failures differ: not one cause
            return None
        self.seen.append(outcome)
        if len(self.seen) < self.limit:
            return None
        self.settled = True
        return Streak(
            numbers=tuple(o.number for o in self.seen),
            exit_code=outcome.exit_code,
            stderr_tail=tuple(outcome.stderr_tail),
        )

    def reset(self) -> None:
        """Start counting again (after the user resumed launching)."""
        self.seen.clear()
        self.settled = False
