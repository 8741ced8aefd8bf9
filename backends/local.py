"""The local backend: trials as child processes, one slot each, GPUs via CUDA_VISIBLE_DEVICES.

Slots are fixed when the backend starts: ``trials_per_gpu`` slots per GPU, or
disjoint groups of ``gpus_per_trial`` GPUs, or CPU slots when there is no GPU.
Each trial runs in its own session (``setsid``) so a stop reaches its whole
process group, and leftover descendants are found by token (see proctree).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from kttui.backends import proctree
from kttui.backends.base import (
    TOKEN_ENV,
    Backend,
    BackendConfig,
    BackendError,
    GpuInfo,
    Handle,
    JobStatus,
    TrialRequest,
)
from kttui.backends.gpus import detect_gpus


@dataclass(frozen=True)
class Slot:
    name: str
    gpus: tuple[int, ...]
    threads: int


@dataclass
class _Job:
    handle: Handle
    proc: subprocess.Popen[bytes]
    slot: Slot
    kill_at: float | None = None
    status: JobStatus | None = None


def plan_slots(config: BackendConfig, gpus: list[GpuInfo], cpu_count: int) -> list[Slot]:
    """The slots a config gives on a machine with ``gpus`` and ``cpu_count`` cores."""
    detected = [g.index for g in gpus]
    if config.gpus == "auto":
        chosen = detected
    elif isinstance(config.gpus, int):
        if config.gpus > len(detected):
            raise BackendError(
                f"resources.gpus asks for {config.gpus} GPUs but {len(detected)} were found"
            )
        chosen = detected[: config.gpus]
    else:
        missing = sorted(set(config.gpus) - set(detected))
        if missing:
            raise BackendError(
                f"resources.gpus lists GPU(s) {missing} but this machine has {detected or 'none'}"
            )
        chosen = list(config.gpus)
    slots: list[Slot] = []
    if chosen:
        if config.gpus_per_trial > len(chosen):
            raise BackendError(
                f"gpus_per_trial is {config.gpus_per_trial} but only {len(chosen)} GPU(s) are used"
            )
        if config.gpus_per_trial > 1:
            n = len(chosen) // config.gpus_per_trial
            groups = [
                tuple(chosen[i * config.gpus_per_trial : (i + 1) * config.gpus_per_trial])
                for i in range(n)
            ]
            slots = [Slot("gpu" + ",".join(map(str, g)), g, 1) for g in groups]
        else:
            for g in chosen:
                for k in range(config.trials_per_gpu):
                    name = f"gpu{g}" if config.trials_per_gpu == 1 else f"gpu{g}#{k}"
                    slots.append(Slot(name, (g,), 1))
    else:
        n = cpu_count if config.cpu_slots == "auto" else config.cpu_slots
        slots = [Slot(f"cpu{i}", (), 1) for i in range(max(1, n))]
    if config.max_concurrent is not None:
        slots = slots[: config.max_concurrent]
    threads = max(1, cpu_count // max(1, len(slots)))
    return [Slot(s.name, s.gpus, threads) for s in slots]


class LocalBackend(Backend):
    name = "local"
    supports_gpus = True

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(config)
        self._gpus = detect_gpus()
        self.slots = plan_slots(config, self._gpus, os.cpu_count() or 1)
        self._free: list[Slot] = list(self.slots)
        self._jobs: dict[str, _Job] = {}

    def capacity(self) -> int:
        return len(self._free)

    def total_slots(self) -> int:
        return len(self.slots)

    def inventory(self) -> list[GpuInfo]:
        return detect_gpus() if self._gpus and not self._gpus[0].fake else list(self._gpus)

    def submit(self, request: TrialRequest) -> Handle:
        if not self._free:
            raise BackendError("no free slot")
        slot = self._free[0]
        env = dict(request.env)
        env[TOKEN_ENV] = request.token
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, slot.gpus))
        env["KTTUI_SLOT"] = slot.name
        env.setdefault("KTTUI_NUM_THREADS", str(slot.threads))
        try:
            with open(request.stdout, "ab") as out, open(request.stderr, "ab") as err:
                proc = subprocess.Popen(
                    request.argv,
                    cwd=request.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    close_fds=True,
                )
        except FileNotFoundError:
            raise BackendError(f"cannot start trial: no such program {request.argv[0]!r}") from None
        except PermissionError:
            raise BackendError(
                f"cannot start trial: {request.argv[0]!r} is not executable"
            ) from None
        except NotADirectoryError:
            raise BackendError(f"cannot start trial: bad working directory {request.cwd}") from None
        except OSError as exc:
            raise BackendError(f"cannot start trial: {exc.strerror or exc}") from None
        self._free.pop(0)
        handle = Handle(
            number=request.number,
            job_id=str(proc.pid),
            slot=slot.name,
            gpus=list(slot.gpus),
            token=request.token,
            submitted=time.time(),
            data={"pid": proc.pid, "pgid": proc.pid},
        )
        self._jobs[handle.job_id] = _Job(handle, proc, slot)
        return handle

    def poll(self, handles: Sequence[Handle]) -> dict[str, JobStatus]:
        out: dict[str, JobStatus] = {}
        now = time.monotonic()
        for handle in handles:
            job = self._jobs.get(handle.job_id)
            if job is None:
                out[handle.job_id] = JobStatus("done", None, None, "unknown to this runner")
                continue
            if job.status is None:
                code = job.proc.poll()
                if code is None:
                    if job.kill_at is not None and now >= job.kill_at:
                        self._signal_tree(job, signal.SIGKILL)
                        job.kill_at = None
                    out[handle.job_id] = JobStatus("running")
                    continue
                # The leader is gone: nothing of the trial may outlive it.
                self._signal_tree(job, signal.SIGKILL)
                if code < 0:
                    job.status = JobStatus("done", None, -code, signal.Signals(-code).name)
                else:
                    job.status = JobStatus("done", code, None)
            out[handle.job_id] = job.status
        proctree.reap_zombie_children(exclude=[j.proc.pid for j in self._jobs.values()])
        return out

    def cancel(self, handle: Handle) -> None:
        job = self._jobs.get(handle.job_id)
        if job is None or job.status is not None:
            return
        self._signal_tree(job, signal.SIGTERM)
        grace = self.config.kill_grace_s
        job.kill_at = time.monotonic() + grace
        if grace <= 0:
            self._signal_tree(job, signal.SIGKILL)

    def _signal_tree(self, job: _Job, sig: int) -> None:
        pids = proctree.find_processes(tokens=[job.handle.token], roots=[job.proc.pid])
        pids.discard(os.getpid())
        proctree.signal_all(pids, sig)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.proc.pid, sig)

    def release(self, handle: Handle) -> None:
        job = self._jobs.pop(handle.job_id, None)
        if job is not None:
            self._free.append(job.slot)
            self._free.sort(key=self.slots.index)

    def cleanup(self, session_id: str, numbers: Sequence[int] | None = None) -> int:
        if numbers is None:
            pids = proctree.find_processes(prefix=f"{session_id}:")
        else:
            pids = proctree.find_processes(tokens=[f"{session_id}:{n}" for n in numbers])
        return proctree.kill_now(pids)


BACKEND = LocalBackend
