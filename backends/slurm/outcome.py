"""How a SLURM job ended, as a trial's final :class:`JobStatus` (pure but for one file read).

The batch script writes the trial's exit status to ``exit_code``; that file is the
truth when it exists. Otherwise SLURM's record of the job (``scontrol``, then
``sacct``) says what happened to the batch shell. Jobs lost to the cluster (preempted,
node failure) end with no exit code and a reason, so the runner can requeue them.
"""

from __future__ import annotations

import signal
from pathlib import Path

from kttui.backends.base import JobStatus
from kttui.backends.slurm.parse import LOST_STATES, STATE_REASONS, JobRecord
from kttui.backends.slurm.script import EXIT_FILE


def read_exit_file(path: Path) -> int | None:
    """The exit status the batch script wrote, or None (not written, not readable)."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def status_from_exit(exit_code: int, why: str) -> JobStatus:
    """A final status from a shell exit status (128+N: killed by signal N)."""
    if 128 < exit_code < 128 + 65:
        sig = exit_code - 128
        try:
            signame = signal.Signals(sig).name
        except ValueError:
            signame = f"signal {sig}"
        return JobStatus("done", None, sig, f"{why} ({signame})" if why else signame)
    return JobStatus("done", exit_code, None, why)


def lost(state: str | None) -> JobStatus | None:
    """The status of a job the cluster lost (the runner may requeue it), else None."""
    if state in LOST_STATES:
        return JobStatus("done", None, None, LOST_STATES[state])
    return None


def final_status(
    state: str | None,
    reason: str,
    exit_code: int | None,
    record: JobRecord | None,
    *,
    cancelled: bool,
    exit_file: Path,
) -> JobStatus:
    """The final status of a job from everything known about it.

    ``state`` and ``reason`` are the queue's last word (None: the job left the queue
    unseen), ``exit_code`` the ``exit_code`` file's, ``record`` SLURM's record when
    it was asked for (no exit file, or no final state).
    """
    slurm_code: tuple[int, int] | None = None
    if record is not None:
        state = state or record.state
        slurm_code = record.exit
    gone = lost(state)
    if gone is not None:
        return gone
    why = "cancelled" if cancelled else STATE_REASONS.get(state or "", "")
    if exit_code is None and slurm_code is not None:
        rc, sig = slurm_code
        if sig:  # the batch shell itself was killed (SIGKILL after KillWait, ...)
            exit_code = 128 + sig
        elif not why:  # the script ended without writing its exit code
            exit_code = rc
            if state == "COMPLETED":
                why = f"no {EXIT_FILE} file: is {exit_file.parent} shared with the nodes?"
            elif reason and reason not in ("None", "NonZeroExitCode"):
                why = f"job failed: {reason}"
    if exit_code is None:
        if state is None:
            return JobStatus("done", None, None, why or "job left the queue without a trace")
        return JobStatus("done", None, None, why or f"job ended as {state}")
    return status_from_exit(exit_code, why)
