"""Pure readers of what SLURM's commands print: squeue, scontrol, sacct, sinfo, sbatch.

Each takes the text a command wrote and returns plain data, so the backend's decisions
can be tested on recorded output without a cluster. The state names are SLURM's
(``squeue %T``, ``scontrol JobState``, ``sacct State``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: ``squeue -o``: the job name last, so a ``|`` in someone's job name cannot shift a field.
SQUEUE_FORMAT = "%i|%T|%r|%N|%b|%j"
SACCT_FIELDS = "State,ExitCode,JobName"
SINFO_FORMAT = "%D|%c|%G"

QUEUED_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESV_DEL_HOLD",
    }
)
RUNNING_STATES = frozenset(
    {"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"}
)
FINAL_STATES = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "PREEMPTED",
        "NODE_FAIL",
        "BOOT_FAIL",
        "DEADLINE",
        "OUT_OF_MEMORY",
        "SPECIAL_EXIT",
        "REVOKED",
    }
)
#: Final states in which the trial did not fail by itself: the runner may requeue it.
LOST_STATES = {
    "PREEMPTED": "preempted",
    "NODE_FAIL": "node failure",
    "BOOT_FAIL": "node failure (boot)",
    "REVOKED": "revoked by the federation",
}
STATE_REASONS = {
    "CANCELLED": "cancelled",
    "TIMEOUT": "time limit",
    "OUT_OF_MEMORY": "out of memory",
    "DEADLINE": "deadline",
}
#: What squeue prints in an empty field.
_EMPTY = frozenset({"", "None", "(null)", "N/A"})

#: sacct's own words (src/sacct/options.c) for a cluster that keeps no accounting at all;
#: before Slurm 17.11 they began with "SLURM". Anything else sacct says (the database is
#: down, a bad job id) may pass, so it does not turn accounting off.
SACCT_DISABLED = (
    "accounting storage is disabled",
    "unable to initialize storage plugin",
)


@dataclass(frozen=True)
class QueueRow:
    """One job as ``squeue`` lists it; ``node`` and ``gres`` are empty until it runs."""

    state: str
    reason: str
    name: str
    node: str = ""
    gres: str = ""


@dataclass(frozen=True)
class JobRecord:
    """A job that left the queue, from ``scontrol show job`` or ``sacct``."""

    state: str
    exit: tuple[int, int] | None  # (exit code, signal) of the batch shell
    name: str


def job_gres(value: str) -> str:
    """``gres:gpu:2`` (Slurm < 23.02) or ``gres/gpu:2`` -> ``gpu:2``; ``N/A`` -> ``""``."""
    items = []
    for item in value.split(","):
        item = item.strip()
        if item in _EMPTY:
            continue
        items.append(item.removeprefix("gres:").removeprefix("gres/"))
    return ",".join(items)


def parse_squeue(text: str) -> dict[str, QueueRow]:
    """Rows of ``squeue -h -o SQUEUE_FORMAT`` by job id; malformed lines are skipped."""
    rows: dict[str, QueueRow] = {}
    for line in text.splitlines():
        parts = line.strip().split("|", 5)
        if len(parts) != 6 or not parts[0]:
            continue
        job_id, state, reason, node, gres, name = parts
        rows[job_id] = QueueRow(
            state=state.split()[0] if state.strip() else "",
            reason=reason,
            name=name,
            node="" if node in _EMPTY else node,
            gres=job_gres(gres),
        )
    return rows


def _exit_pair(text: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+):(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_scontrol(text: str) -> JobRecord | None:
    """The job in ``scontrol -o show job ID`` output, or None if SLURM forgot it."""
    if "JobState=" not in text:
        return None
    state = re.search(r"\bJobState=(\S+)", text)
    code = re.search(r"\bExitCode=(\S+)", text)
    name = re.search(r"\bJobName=(\S+)", text)
    return JobRecord(
        state=state.group(1) if state else "UNKNOWN",
        exit=_exit_pair(code.group(1)) if code else None,
        name=name.group(1) if name else "",
    )


def parse_sacct(text: str) -> JobRecord | None:
    """The first row of ``sacct -n -P -X -o SACCT_FIELDS`` (``CANCELLED by 1000`` -> CANCELLED)."""
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) >= 3 and parts[0].strip():
            return JobRecord(parts[0].split()[0], _exit_pair(parts[1]), parts[2])
    return None


def sacct_disabled(stderr: str) -> bool:
    """Does sacct say the cluster has no accounting (so asking again is pointless)?"""
    text = stderr.lower()
    return any(message in text for message in SACCT_DISABLED)


def gres_gpus(gres: str) -> int:
    """GPUs in a ``sinfo %G`` value such as ``gpu:4`` or ``gpu:a100:8(S:0-1),shard:16``."""
    total = 0
    for item in gres.split(","):
        item = re.sub(r"\(.*?\)", "", item)
        parts = item.split(":")
        if parts[0] == "gpu" and len(parts) >= 2 and parts[-1].isdigit():
            total += int(parts[-1])
    return total


def parse_sinfo(text: str) -> tuple[int, int, int]:
    """(nodes, CPUs, GPUs) summed over ``sinfo -h -o SINFO_FORMAT`` lines."""
    nodes = cpus = gpus = 0
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        n = int(parts[0])
        nodes += n
        cpus += n * int(parts[1].rstrip("+") or 0) if parts[1][:1].isdigit() else 0
        gpus += n * gres_gpus(parts[2])
    return nodes, cpus, gpus


def sbatch_job_id(stdout: str) -> str:
    """The job id ``sbatch --parsable`` printed (``ID`` or ``ID;cluster``), or ``""``."""
    lines = stdout.strip().splitlines()
    job_id = lines[-1].split(";")[0].strip() if lines else ""
    return job_id if job_id.isdigit() else ""
