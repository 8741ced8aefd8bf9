"""The local backend: trials as child processes, one slot each, GPUs via CUDA_VISIBLE_DEVICES.

Slots are fixed when the backend starts: ``trials_per_gpu`` slots per GPU, or
disjoint groups of ``gpus_per_trial`` GPUs, or CPU slots when there is no GPU.
Each trial runs in its own session (``setsid``) so a stop reaches its whole
process group, and leftover descendants are found by token (see proctree).

Trials outlive a crashed runner: each runs under a small wrapper
(:mod:`kttui.backends.trialexit`) that writes its exit status to the trial
directory, so a restarted runner reattaches to the live ones (by pid and start
time) and learns how the others ended while it was down.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from kttui.backends import proctree, trialexit
from kttui.backends.base import (
    TOKEN_ENV,
    Backend,
    BackendConfig,
    BackendError,
    GpuInfo,
    Handle,
    JobStatus,
    TrialRequest,
    process_start_time,
)
from kttui.backends.gpus import detect_gpus
from kttui.backends.trialexit import read_record

EXIT_FILE = "exit.json"
#: Orphans re-parented to the runner are reaped at most this often (a scan of /proc).
REAP_S = 1.0


@dataclass(frozen=True)
class Slot:
    name: str
    gpus: tuple[int, ...]
    threads: int


@dataclass
class _Job:
    handle: Handle
    proc: subprocess.Popen[bytes] | None  # None: reattached, started by an earlier runner
    slot: Slot | None  # None: it had ended before we reattached; its slot is free
    kill_at: float | None = None
    status: JobStatus | None = None
    sweep: Future[None] | None = None  # the leader ended: what it left is being killed

    @property
    def pid(self) -> int:
        return int(self.handle.data["pid"])


def _check_program(request: TrialRequest) -> None:
    """The errors Popen would give, found before the wrapper hides them behind its own start."""
    if not request.cwd.is_dir():
        raise BackendError(f"cannot start trial: bad working directory {request.cwd}")
    prog = request.argv[0]
    if "/" in prog:
        path = request.cwd / prog
        if not path.exists():
            raise BackendError(f"cannot start trial: no such program {prog!r}")
        if path.is_dir() or not os.access(path, os.X_OK):
            raise BackendError(f"cannot start trial: {prog!r} is not executable")
    elif shutil.which(prog, path=request.env.get("PATH", os.defpath)) is None:
        raise BackendError(f"cannot start trial: no such program {prog!r}")


def _status_of(record: tuple[int | None, int | None]) -> JobStatus:
    code, sig = record
    if sig is not None:
        with contextlib.suppress(ValueError):
            return JobStatus("done", None, sig, signal.Signals(sig).name)
        return JobStatus("done", None, sig, f"signal {sig}")
    return JobStatus("done", code, None)


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
    supports_reattach = True

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(config)
        self._gpus = detect_gpus()
        self.slots = plan_slots(config, self._gpus, os.cpu_count() or 1)
        self._free: list[Slot] = list(self.slots)
        self._jobs: dict[str, _Job] = {}
        # Scanning /proc for what an ended trial left behind reads every process's files:
        # tens of ms, more while other threads hold the GIL; off the caller's (the
        # runner's loop's) thread. A trial is reported done once its sweep is over.
        self._sweeper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kttui-sweep")
        self._reaped = 0.0

    def adopt_process(self) -> None:
        """Orphaned trial descendants are re-parented to the runner, which reaps them (Linux)."""
        proctree.become_subreaper()

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
        _check_program(request)
        exit_file = request.trial_dir / EXIT_FILE
        with contextlib.suppress(FileNotFoundError):
            exit_file.unlink()  # a retry in the same directory starts without a record
        # by path, without site (-I -S): the wrapper needs the standard library only
        wrapper = [sys.executable, "-I", "-S", trialexit.__file__, str(exit_file), "--"]
        try:
            with open(request.stdout, "ab") as out, open(request.stderr, "ab") as err:
                proc = subprocess.Popen(
                    wrapper + request.argv,
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
            data={
                "pid": proc.pid,
                "pgid": proc.pid,
                "pid_start": process_start_time(proc.pid),
                "exit_file": str(exit_file),
            },
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
                ended = self._ended(job)
                if ended is None:
                    if job.kill_at is not None and now >= job.kill_at:
                        self._signal_tree(job, signal.SIGKILL)
                        job.kill_at = None
                    out[handle.job_id] = JobStatus("running")
                    continue
                # The leader is gone: nothing of the trial may outlive it.
                job.sweep = self._sweeper.submit(self._signal_tree, job, signal.SIGKILL)
                job.status = ended
            if job.sweep is not None and not job.sweep.done():
                out[handle.job_id] = JobStatus("running")
                continue
            out[handle.job_id] = job.status
        if now - self._reaped >= REAP_S:
            self._reaped = now
            proctree.reap_zombie_children(exclude=[j.pid for j in self._jobs.values()])
        return out

    def _ended(self, job: _Job) -> JobStatus | None:
        """None while the trial runs; how it ended otherwise."""
        if job.proc is not None:
            code = job.proc.poll()
            if code is None:
                return None
            return _status_of((None, -code) if code < 0 else (code, None))
        if proctree.alive(job.pid, job.handle.data.get("pid_start")):
            return None
        record = read_record(str(job.handle.data.get("exit_file", "")))
        if record is None:
            return JobStatus("done", None, None, "ended unwatched, without an exit status")
        return _status_of(record)

    def reattach(self, handle: Handle) -> bool:
        """Take over a trial of a crashed runner: live, or ended with an exit record."""
        if "exit_file" not in handle.data or "pid" not in handle.data:
            return False  # started by a runner without the wrapper
        if not proctree.alive(int(handle.data["pid"]), handle.data.get("pid_start")):
            record = read_record(str(handle.data["exit_file"]))
            if record is None:
                return False
            job = _Job(handle, None, None, status=_status_of(record))
            # what it left behind, found by token, off the caller's thread: a resumed
            # runner launches into the free slots meanwhile (the job is done once swept)
            job.sweep = self._sweeper.submit(self._signal_tree, job, signal.SIGKILL)
            self._jobs[handle.job_id] = job
            return True
        slot = next((s for s in self._free if s.name == handle.slot), None)
        if slot is None:
            return False
        self._free.remove(slot)
        self._jobs[handle.job_id] = _Job(handle, None, slot)
        return True

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
        # a dead leader's pid may belong to someone else by now: then the token only
        ours = job.proc is not None or proctree.alive(job.pid, job.handle.data.get("pid_start"))
        roots = [job.pid] if ours else []
        born = job.handle.data.get("pid_start")  # the leader's start: no older process is ours
        pids = proctree.find_processes(
            tokens=[job.handle.token],
            roots=roots,
            born_since=born if isinstance(born, int) else None,
        )
        pids.discard(os.getpid())
        proctree.signal_all(pids, sig)
        if ours:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(job.pid, sig)

    def release(self, handle: Handle) -> None:
        job = self._jobs.pop(handle.job_id, None)
        if job is not None and job.slot is not None:
            self._free.append(job.slot)
            self._free.sort(key=self.slots.index)

    def cleanup(self, session_key: str, numbers: Sequence[int] | None = None) -> int:
        if numbers is None:
            pids = proctree.find_processes(prefix=f"{session_key}:")
        else:
            pids = proctree.find_processes(tokens=[f"{session_key}:{n}" for n in numbers])
        return proctree.kill_now(pids)

    def close(self) -> None:
        self._sweeper.shutdown(wait=True)


BACKEND = LocalBackend
