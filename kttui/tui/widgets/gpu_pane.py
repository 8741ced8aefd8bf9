"""The GPU pane: utilisation, memory and temperature per GPU and the trials holding it.

On a scheduler backend (SLURM) it lists each running trial's job id, node and GRES.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from kttui.service.gpus import GpuSnapshot


def _fmt(value: float | None, unit: str, scale: float = 1.0, digits: int = 0) -> str:
    return "-" if value is None else f"{value / scale:.{digits}f}{unit}"


def render_gpus(snapshot: GpuSnapshot | None) -> RenderableType:
    if snapshot is None:
        return Text("reading GPUs…", style="dim")
    note = Text(snapshot.note, style="yellow" if snapshot.fake else "dim")
    if snapshot.jobs:
        return Group(note, _jobs_table(snapshot))
    if not snapshot.gpus:
        return note
    table = Table(box=None, pad_edge=False, show_edge=False)
    for name, justify in (
        ("gpu", "right"),
        ("util", "right"),
        ("memory", "right"),
        ("temp", "right"),
        ("trials", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for g in snapshot.gpus:
        memory = (
            f"{_fmt(g.memory_used_mb, '', 1024, 1)}/{_fmt(g.memory_total_mb, 'G', 1024, 0)}"
            if g.memory_total_mb
            else "-"
        )
        trials = " ".join(f"#{n}" for n in g.trials) or "idle"
        table.add_row(
            str(g.index),
            _fmt(g.utilization_pct, "%"),
            memory,
            _fmt(g.temperature_c, "°C"),
            Text(trials, style="cyan" if g.trials else "dim"),
        )
    return Group(note, table)


def _jobs_table(snapshot: GpuSnapshot) -> Table:
    """Running trials of a scheduler backend: job id, node and the GRES each was granted."""
    table = Table(box=None, pad_edge=False, show_edge=False)
    for name in ("trial", "job", "node", "gres"):
        table.add_column(name, justify="right" if name == "trial" else "left", no_wrap=True)
    for job in snapshot.jobs:
        table.add_row(f"#{job.trial}", job.job_id, job.node, Text(job.gres, style="cyan"))
    return table


class GpuPane(Static):
    """Shows a :class:`GpuSnapshot`."""

    def show(self, snapshot: GpuSnapshot | None) -> None:
        self.update(render_gpus(snapshot))
