"""What kttui keeps about a trial in its Optuna user attributes, as one typed object.

Every key is stored as ``kttui:<field>`` (the names old sessions already hold), one
user attribute per field, so a session written by any earlier version loads unchanged.
``None`` means "not recorded": :meth:`TrialMeta.to_attrs` leaves it out unless asked
for that field by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

PREFIX = "kttui:"
_INTS = (
    "retry_of",
    "attempt",
    "seed",
    "group",
    "tier",
    "promoted_from",
    "reuse_of",
    "exit_code",
    "epochs",
    "bad_lines",
)
#: What a retry of a run keeps: its seed, its repeat group, its budget tier.
IDENTITY = ("seed", "group", "tier", "promoted_from")
#: How a trial ended, written together (a missing exit code is written as None).
OUTCOME = ("exit_code", "reason", "epochs", "final", "duration_s", "bad_lines")


@dataclass(frozen=True)
class TrialMeta:
    """One trial's ``kttui:`` user attributes; every field optional, ``None`` = not recorded."""

    # how the trial came to be
    point: dict[str, Any] | None = None  # the params it was queued with (WAITING has none)
    enqueued: bool | None = None  # added by the user (``kttui enqueue``)
    retry_of: int | None = None
    attempt: int | None = None
    seed: int | None = None  # a repeat's seed
    group: int | None = None  # the trial whose config the repeats share
    tier: int | None = None  # budget tier
    promoted_from: int | None = None  # the trial of the tier below
    # what the runner did with it
    config: dict[str, Any] | None = None  # the params it ran with, derived ones included
    counted: bool | None = None  # a new config, counted against the budget
    slot: str | None = None  # launched, on this slot
    unused: bool | None = None  # asked for, never launched
    infeasible: str | None = None  # why the space refused it
    reuse_of: int | None = None  # a repeat of this trial's config, told its result
    # how it ended
    reason: str | None = None
    exit_code: int | None = None
    epochs: int | None = None
    final: dict[str, Any] | None = None
    duration_s: float | None = None
    bad_lines: int | None = None

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> TrialMeta:
        """Read a trial's user attributes; other keys (the user's own) are ignored."""
        kw: dict[str, Any] = {}
        for f in fields(cls):
            value = attrs.get(PREFIX + f.name)
            if value is not None and f.name in _INTS:
                value = int(value)
            kw[f.name] = value
        return cls(**kw)

    def to_attrs(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        """The user attributes to store: every recorded field, or exactly ``only``."""
        if only is not None:
            return {PREFIX + name: getattr(self, name) for name in only}
        return {
            PREFIX + f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not None
        }

    def write(
        self, set_attr: Callable[[str, Any], None], only: Iterable[str] | None = None
    ) -> None:
        """Store through ``set_attr`` (a trial's ``set_user_attr``, or a storage's, bound)."""
        for key, value in self.to_attrs(only).items():
            set_attr(key, value)

    def identity(self) -> TrialMeta:
        """Only what a retry of this run must keep (empty for a plain new config)."""
        return TrialMeta(**{name: getattr(self, name) for name in IDENTITY})

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))
