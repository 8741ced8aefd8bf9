"""The GPUs pane's inventory: this machine's GPUs with the running trials that hold them, or the
scheduler's placement of each running trial on a SLURM sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kttui.service.rows import TrialRow


@dataclass(frozen=True)
class GpuRow:
    index: int
    name: str
    utilization_pct: float | None
    memory_used_mb: float | None
    memory_total_mb: float | None
    temperature_c: float | None
    trials: tuple[int, ...]


@dataclass(frozen=True)
class JobRow:
    """A running trial as its scheduler placed it (the GPUs pane of a SLURM sweep)."""

    trial: int
    job_id: str
    node: str
    gres: str


@dataclass(frozen=True)
class GpuSnapshot:
    gpus: tuple[GpuRow, ...]
    fake: bool
    note: str
    jobs: tuple[JobRow, ...] = ()


def gpu_snapshot(rows: Iterable[TrialRow], *, backend: str = "local") -> GpuSnapshot:
    """Every GPU of this machine with the running trials that hold it.

    On a scheduler backend the trials run on other nodes: the snapshot lists
    each running trial's job id, node and GRES instead of this machine's GPUs.
    """
    rows = list(rows)
    if backend not in ("", "local"):
        jobs = tuple(
            JobRow(r.number, r.job_id or "-", r.node or "-", r.gres or "-")
            for r in sorted(rows, key=lambda r: r.number)
            if r.state == "running"
        )
        note = f"{backend}: {len(jobs)} running job(s); GPUs as the scheduler granted them"
        return GpuSnapshot(gpus=(), fake=False, note=note, jobs=jobs)
    from kttui.backends.gpus import FAKE_ENV, detect_gpus

    holders: dict[int, list[int]] = {}
    for row in rows:
        if row.state == "running":
            for g in row.gpus:
                holders.setdefault(g, []).append(row.number)
    gpus = detect_gpus()
    fake = any(g.fake for g in gpus)
    if fake:
        note = f"fake GPU inventory ({FAKE_ENV}={len(gpus)}): no real readings"
    elif not gpus:
        note = "no GPU detected: trials run on CPU slots"
    else:
        note = f"{len(gpus)} GPU(s)"
    return GpuSnapshot(
        gpus=tuple(
            GpuRow(
                g.index,
                g.name,
                g.utilization_pct,
                g.memory_used_mb,
                g.memory_total_mb,
                g.temperature_c,
                tuple(sorted(holders.get(g.index, []))),
            )
            for g in gpus
        ),
        fake=fake,
        note=note,
    )
