"""The backend protocol: how the runner starts, watches and stops trial processes.

One abstract class, optional capabilities as class flags (as Optuna's samplers
and harlequin's adapters do). A backend knows nothing about specs, Optuna or
sessions: it receives a ready :class:`TrialRequest` (argv, env, paths) and
reports :class:`JobStatus` values. Everything here is plain data so that
handles can be written to the session and picked up by a restarted runner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, Self

#: Every process a trial starts carries this variable; its value is
#: "<session-id>:<trial-number>", so leftovers can be found after a crash.
TOKEN_ENV = "KTTUI_TRIAL_TOKEN"


@dataclass(frozen=True)
class ProcStat:
    """What ``/proc/PID/stat`` says of a process (Linux); only the fields kttui reads."""

    state: str  #: R, S, D, Z (zombie: it has finished), X, T, ...
    ppid: int
    pgid: int
    sid: int
    start_time: int  #: clock ticks since boot: tells a pid from its reuse


def parse_proc_stat(text: str) -> ProcStat | None:
    """The fields of one ``/proc/PID/stat`` line, or None when it is not one.

    The command name (field 2) is in parentheses and may itself hold spaces and
    parentheses (``(my (odd) cmd)``), so the fields are counted after the *last*
    ``)``. One copy for the backends (the process tree, the local wrapper) and the
    core (is the runner alive, is it still the same process).
    """
    close = text.rfind(")")
    if close < 0:
        return None
    fields = text[close + 2 :].split()
    try:
        return ProcStat(fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]))
    except (IndexError, ValueError):
        return None


def read_proc_stat(pid: int) -> ProcStat | None:
    """``pid``'s :class:`ProcStat`, or None when there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    return parse_proc_stat(raw.decode(errors="replace"))


def process_start_time(pid: int) -> int | None:
    """Clock ticks since boot at which ``pid`` started: tells a pid from its reuse."""
    stat = read_proc_stat(pid)
    return stat.start_time if stat is not None else None


class BackendError(Exception):
    """A backend could not do what was asked; the message is for the user."""


class OptionsBlock(Protocol):
    """A backend's own block of the spec's resources (a pydantic model in ``kttui.spec``)."""

    def model_dump(self) -> dict[str, Any]: ...


class Resources(Protocol):
    """What backends read of ``kttui.spec.Resources``.

    A structural type, so that backends never import the spec (imports go one way)
    and each backend can build itself from the spec without the runner translating.
    """

    @property
    def backend(self) -> str: ...
    @property
    def gpus(self) -> int | list[int] | Literal["auto"]: ...
    @property
    def trials_per_gpu(self) -> int: ...
    @property
    def gpus_per_trial(self) -> int: ...
    @property
    def cpu_slots(self) -> int | Literal["auto"]: ...
    @property
    def max_concurrent(self) -> int | None: ...
    @property
    def timeout_min(self) -> float | None: ...
    @property
    def kill_grace_s(self) -> float: ...
    @property
    def slurm(self) -> OptionsBlock | None: ...


@dataclass(frozen=True)
class BackendConfig:
    """What a backend needs from the spec's ``resources`` (no spec import here)."""

    gpus: int | list[int] | Literal["auto"] = "auto"
    trials_per_gpu: int = 1
    gpus_per_trial: int = 1
    cpu_slots: int | Literal["auto"] = "auto"
    max_concurrent: int | None = None
    kill_grace_s: float = 10.0
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_resources(
        cls, resources: Resources, options: dict[str, Any] | None = None
    ) -> BackendConfig:
        """The fields every backend shares; ``options`` is the backend's own block."""
        return cls(
            gpus=resources.gpus,
            trials_per_gpu=resources.trials_per_gpu,
            gpus_per_trial=resources.gpus_per_trial,
            cpu_slots=resources.cpu_slots,
            max_concurrent=resources.max_concurrent,
            kill_grace_s=resources.kill_grace_s,
            options=options or {},
        )


@dataclass(frozen=True)
class TrialRequest:
    number: int
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    trial_dir: Path
    stdout: Path
    stderr: Path
    token: str


@dataclass
class Handle:
    """A submitted trial; ``data`` is backend-specific and JSON-serialisable."""

    number: int
    job_id: str
    slot: str
    gpus: list[int]
    token: str
    submitted: float
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Handle:
        return cls(**raw)


@dataclass(frozen=True)
class JobStatus:
    """Where a trial's job is; ``node`` and ``gres`` are what a scheduler gave a running job."""

    state: Literal["queued", "running", "done"]
    exit_code: int | None = None
    signal: int | None = None
    reason: str = ""
    node: str = ""
    gres: str = ""


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_total_mb: float | None = None
    memory_used_mb: float | None = None
    utilization_pct: float | None = None
    temperature_c: float | None = None
    fake: bool = False


class Backend(ABC):
    """Starts trials on some compute and reports on them."""

    name: ClassVar[str]
    #: Trials are given GPUs (CUDA_VISIBLE_DEVICES is set by the backend or scheduler).
    supports_gpus: ClassVar[bool] = False
    #: Trials outlive the runner and a restarted runner can pick them up again.
    supports_reattach: ClassVar[bool] = False
    #: The session directory must be visible from where trials run.
    needs_shared_filesystem: ClassVar[bool] = False

    def __init__(self, config: BackendConfig) -> None:
        self.config = config

    @classmethod
    def from_resources(cls, resources: Resources) -> Self:
        """The backend a spec's ``resources`` asks for; backends with options override this."""
        return cls(BackendConfig.from_resources(resources))

    def adopt_process(self) -> None:  # noqa: B027 - optional hook
        """Set up the runner's own process, once, before any trial starts or is reattached."""

    def preflight(self, session_dir: Path) -> list[str]:
        """Warnings for the user before the first trial starts (the runner logs and prints them)."""
        return []

    @abstractmethod
    def capacity(self) -> int:
        """How many more trials could start right now."""

    @abstractmethod
    def total_slots(self) -> int:
        """How many trials can run at once when nothing else is running."""

    @abstractmethod
    def submit(self, request: TrialRequest) -> Handle:
        """Start a trial; raise :class:`BackendError` with a user-facing message on failure."""

    @abstractmethod
    def poll(self, handles: Sequence[Handle]) -> dict[str, JobStatus]:
        """Status of each handle, keyed by ``job_id``; cheap enough to call often."""

    @abstractmethod
    def cancel(self, handle: Handle) -> None:
        """Ask a trial to stop (SIGTERM now, SIGKILL after the grace period); non-blocking."""

    def release(self, handle: Handle) -> None:  # noqa: B027 - optional hook
        """Forget a finished trial and free its slot."""

    def cleanup(self, session_key: str, numbers: Sequence[int] | None = None) -> int:
        """Kill what is left of trials a previous runner started; return how many processes."""
        return 0

    def reattach(self, handle: Handle) -> bool:
        """Take over a trial submitted by a previous runner (``supports_reattach`` only)."""
        return False

    def inventory(self) -> list[GpuInfo]:
        """The GPUs this backend schedules on (empty for CPU-only)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources held by the backend itself."""
