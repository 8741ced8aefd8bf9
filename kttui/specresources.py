"""``resources``: where and how many trials run at once, and the SLURM options.

Part of the spec (:mod:`kttui.spec`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from kttui.specparams import OptWhole, SpecModel, Whole


def _gpus(value: Any) -> Any:
    if value == "auto" or value is None:
        return "auto"
    if isinstance(value, bool):
        raise ValueError("must be 'auto', a number of GPUs or a list of GPU indices")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("the number of GPUs cannot be negative")
        return value
    if isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        if len(set(value)) != len(value):
            raise ValueError("a GPU index is listed twice")
        if any(v < 0 for v in value):
            raise ValueError("GPU indices cannot be negative")
        return value
    raise ValueError("must be 'auto', a number of GPUs or a list of GPU indices")


def _cpu_slots(value: Any) -> Any:
    if value == "auto" or value is None:
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError("must be 'auto' or a whole number >= 1")


class Slurm(SpecModel):
    """sbatch options for ``backend: slurm`` (every job: --job-name kttui-SESSION-TRIAL)."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    mem: str | None = Field(default=None, description="e.g. 16G")
    time: str | None = Field(
        default=None, description="sbatch --time (default: from timeout_min when set)"
    )
    cpus_per_task: Whole = Field(default=1, ge=1)
    gpus_per_trial: OptWhole = Field(
        default=None, ge=0, description="--gres=gpu:N (default: resources.gpus_per_trial)"
    )
    sbatch_args: list[str] = Field(default_factory=list, description="extra sbatch arguments")
    max_pending: Whole = Field(default=20, ge=1, description="jobs queued at once, at most")
    poll_s: float = Field(default=5.0, gt=0, description="seconds between squeue calls")
    signal: str | None = Field(
        default="B:USR1@120", description="sbatch --signal, so trials can checkpoint in time"
    )
    requeue: bool = Field(default=False, description="let SLURM requeue preempted jobs itself")


class Resources(SpecModel):
    """Where and how many trials run at once."""

    backend: Literal["local", "slurm"] = "local"
    gpus: Annotated[int | list[int] | Literal["auto"], BeforeValidator(_gpus)] = Field(
        default="auto",
        description="'auto' (detect), N (the first N), a list of indices, or 0 for CPU only",
    )
    trials_per_gpu: Whole = Field(default=1, ge=1)
    gpus_per_trial: Whole = Field(default=1, ge=1)
    cpu_slots: Annotated[int | Literal["auto"], BeforeValidator(_cpu_slots)] = Field(
        default="auto", description="concurrent trials when there is no GPU ('auto': CPU count)"
    )
    max_concurrent: OptWhole = Field(default=None, ge=1)
    timeout_min: float | None = Field(default=None, gt=0)
    retries: Whole = Field(default=0, ge=0, description="re-runs (same params) of a failed trial")
    kill_grace_s: float = Field(
        default=10.0, ge=0, description="seconds between SIGTERM and SIGKILL when stopping a trial"
    )
    slurm: Slurm | None = Field(default=None, description="sbatch options (backend: slurm)")
    pause_after_failures: int = Field(
        default=3,
        ge=0,
        description=(
            "pause launching when the first N trials all fail the same way before any epoch "
            "(a broken command burns no more slots); 0 = never"
        ),
    )
