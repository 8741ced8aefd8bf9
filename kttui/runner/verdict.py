"""How a finished trial ended, as (state, reason): a pure function of what was learned.

Kept apart from the loop so every way a trial can end (its own stop, a signal, the
scheduler's word, an exit code, a failed evaluation, a missing or broken objective)
is decided in one place and unit-tested without starting a process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from kttui.backends.base import JobStatus
from kttui.evaluate import FAILED

State = Literal["complete", "pruned", "fail"]


@dataclass(frozen=True)
class Ending:
    """What the runner knows when a trial's job is done."""

    job: JobStatus
    metric: str  # the objective's metric, named in the reason when it has no value
    value: float | None  # the objective's summary over the epochs read
    epochs: int = 0
    bad_lines: int = 0
    stop_reason: str | None = None  # why the runner stopped it, if it did
    pruned_at: int | None = None
    timeout_min: float | None = None
    evaluated_ok: bool | None = None  # None: the spec has no evaluation step


def classify(end: Ending) -> tuple[State, str]:
    """The trial's final state and why (empty for a complete trial); first match wins."""
    st = end.job
    if end.stop_reason == "pruned":
        return "pruned", f"pruned at epoch {end.pruned_at}"
    if end.stop_reason == "timeout":
        return "fail", f"timeout after {end.timeout_min:g} min"
    if end.stop_reason is not None:
        return "fail", end.stop_reason
    if st.signal is not None:
        return "fail", f"killed by {st.reason or st.signal}"
    if st.exit_code is None and st.reason:
        return "fail", st.reason  # preempted, node failure, no exit record: the backend's word
    if st.exit_code not in (0, None):
        return "fail", f"exit code {st.exit_code}"
    if end.evaluated_ok is False:  # the training curve stays in the trial
        return "fail", FAILED
    if end.value is None:
        reason = f"no value for {end.metric!r} ({end.epochs} epochs read"
        return "fail", reason + (f", {end.bad_lines} unparsable lines)" if end.bad_lines else ")")
    if math.isnan(end.value) or math.isinf(end.value):
        return "fail", f"objective is {end.value}"
    return "complete", ""
