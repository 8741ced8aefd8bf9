"""How a finished trial is classified: every ending, without starting a process."""

from __future__ import annotations

import pytest
from kttui.backends.base import JobStatus

from kttui.evaluate import FAILED
from kttui.runner.verdict import Ending, classify

OK = JobStatus("done", 0, None)
NAN = float("nan")
INF = float("inf")

CASES = [
    # (what happened, the ending, expected (state, reason))
    ("exit 0 with the metric", Ending(OK, "auc", 0.81, epochs=4), ("complete", "")),
    (
        "exit 0, no epoch read",
        Ending(OK, "auc", None),
        ("fail", "no value for 'auc' (0 epochs read)"),
    ),
    (
        "exit 0, only unparsable lines",
        Ending(OK, "auc", None, epochs=2, bad_lines=3),
        ("fail", "no value for 'auc' (2 epochs read, 3 unparsable lines)"),
    ),
    ("objective is NaN", Ending(OK, "auc", NAN, epochs=1), ("fail", "objective is nan")),
    ("objective is -inf", Ending(OK, "auc", -INF, epochs=1), ("fail", "objective is -inf")),
    (
        "exit code 3",
        Ending(JobStatus("done", 3, None), "auc", 0.8, epochs=4),
        ("fail", "exit code 3"),
    ),
    (
        "killed by a signal, named",
        Ending(JobStatus("done", None, 9, "SIGKILL"), "auc", 0.8),
        ("fail", "killed by SIGKILL"),
    ),
    (
        "killed by a signal, unnamed",
        Ending(JobStatus("done", None, 64), "auc", None),
        ("fail", "killed by 64"),
    ),
    (
        "missing exit record (ended while no runner watched)",
        Ending(
            JobStatus("done", None, None, "ended unwatched, without an exit status"), "auc", 0.8
        ),
        ("fail", "ended unwatched, without an exit status"),
    ),
    (
        "the scheduler's word (preempted)",
        Ending(JobStatus("done", None, None, "PREEMPTED"), "auc", None),
        ("fail", "PREEMPTED"),
    ),
    (
        "no exit code and no reason: judged by its metrics",
        Ending(JobStatus("done", None, None), "auc", 0.7, epochs=2),
        ("complete", ""),
    ),
    (
        "pruned (its kill signal does not count)",
        Ending(
            JobStatus("done", None, 15, "SIGTERM"), "auc", 0.5, stop_reason="pruned", pruned_at=3
        ),
        ("pruned", "pruned at epoch 3"),
    ),
    (
        "timeout",
        Ending(JobStatus("done", None, 15), "auc", 0.8, stop_reason="timeout", timeout_min=1.5),
        ("fail", "timeout after 1.5 min"),
    ),
    (
        "killed by user, though it exited 0 with a value",
        Ending(OK, "auc", 0.9, stop_reason="killed by user"),
        ("fail", "killed by user"),
    ),
    (
        "evaluation failed after a clean exit",
        Ending(OK, "auc", 0.9, epochs=4, evaluated_ok=False),
        ("fail", FAILED),
    ),
    (
        "evaluation passed",
        Ending(OK, "auc", 0.9, epochs=4, evaluated_ok=True),
        ("complete", ""),
    ),
    (
        "exit code wins over a failed evaluation",
        Ending(JobStatus("done", 2, None), "auc", 0.9, evaluated_ok=False),
        ("fail", "exit code 2"),
    ),
]


@pytest.mark.parametrize(("ending", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(ending: Ending, expected: tuple[str, str]) -> None:
    assert classify(ending) == expected
