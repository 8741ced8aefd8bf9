"""The SLURM backend: each trial is one ``sbatch`` job; all jobs are watched with one ``squeue``.

Every SLURM command goes through :attr:`SlurmBackend.run_cmd` (injectable, see
:mod:`.commands`). The queue is read with one ``squeue`` call per ``poll_s`` for every
job at once, shared by :meth:`~SlurmBackend.poll` and :meth:`~SlurmBackend.capacity`;
a job's end is read from its ``exit_code`` file, then ``scontrol show job``, then
``sacct`` when the cluster keeps accounting (see :mod:`.outcome`).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from kttui.backends.base import (
    Backend,
    BackendConfig,
    BackendError,
    Handle,
    JobStatus,
    Resources,
    TrialRequest,
)
from kttui.backends.slurm.commands import CommandRunner, QueueStats, run_command, run_counted
from kttui.backends.slurm.options import SlurmOptions, options_from_resources
from kttui.backends.slurm.outcome import final_status, lost, read_exit_file, status_from_exit
from kttui.backends.slurm.parse import (
    FINAL_STATES,
    QUEUED_STATES,
    RUNNING_STATES,
    SACCT_FIELDS,
    SINFO_FORMAT,
    SQUEUE_FORMAT,
    JobRecord,
    QueueRow,
    parse_sacct,
    parse_scontrol,
    parse_sinfo,
    parse_squeue,
    sacct_disabled,
    sbatch_job_id,
)
from kttui.backends.slurm.script import (
    EXIT_FILE,
    job_name,
    render_script,
    sbatch_environment,
    split_token,
    write_script,
)
from kttui.backends.slurm.sharedfs import FsCheck, check_shared_filesystem


@dataclass
class _Job:
    handle: Handle
    name: str
    exit_file: Path
    covered: bool = False  # a queue snapshot taken after submission asked about it
    cancelled: bool = False
    kill_at: float | None = None
    final: JobStatus | None = None


class SlurmBackend(Backend):
    name = "slurm"
    supports_gpus = True
    supports_reattach = True
    needs_shared_filesystem = True

    def __init__(self, config: BackendConfig, run_cmd: CommandRunner | None = None) -> None:
        super().__init__(config)
        self.options = SlurmOptions.parse(config.options)
        #: Every SLURM command goes through here (tests wrap it to count calls).
        self.run_cmd: CommandRunner = run_cmd or run_command
        self.stats = QueueStats()
        self._jobs: dict[str, _Job] = {}
        self._snap: dict[str, QueueRow] = {}
        self._snap_at: float | None = None  # monotonic time of the last squeue answer
        self._gpus: int | None = self.options.gpus_per_trial
        self._partition_info: tuple[int, int, int] | None = None  # nodes, cpus, gpus
        self._sacct: bool | None = None  # None: not asked yet; False: the cluster has none
        self._user_rows: dict[str, QueueRow] = {}
        self._user_at: float | None = None
        self.fs_check: FsCheck | None = None

    @classmethod
    def from_resources(cls, resources: Resources) -> Self:
        return cls(BackendConfig.from_resources(resources, options_from_resources(resources)))

    def _run(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_counted(self.run_cmd, self.stats, argv, env)

    # -- the partition -------------------------------------------------------------------------
    def partition_info(self) -> tuple[int, int, int]:
        """(nodes, CPUs, GPUs) of the partition, from one ``sinfo`` call (cached)."""
        if self._partition_info is None:
            argv = ["sinfo", "-h", "-o", SINFO_FORMAT]
            if self.options.partition:
                argv += ["-p", self.options.partition]
            with contextlib.suppress(BackendError):
                res = self._run(argv)
                self._partition_info = parse_sinfo(res.stdout) if res.returncode == 0 else None
            self._partition_info = self._partition_info or (0, 0, 0)
        return self._partition_info

    def gpus_per_trial(self) -> int:
        """GPUs each job asks for: the option, else 0 when ``gpus`` is 0 or the partition
        has none (``auto``), else ``gpus_per_trial``."""
        if self._gpus is None:
            if self.config.gpus == 0 or self.config.gpus == []:
                self._gpus = 0
            elif self.config.gpus == "auto":
                has_gpus = self.partition_info()[2] > 0
                self._gpus = self.config.gpus_per_trial if has_gpus else 0
            else:
                self._gpus = self.config.gpus_per_trial
        return self._gpus

    def check_session_dir(self, path: Path | str) -> FsCheck:
        """Warn when the session directory is not visible from every node of the partition."""
        return check_shared_filesystem(path, self.partition_info()[0])

    def preflight(self, session_dir: Path) -> list[str]:
        self.fs_check = self.check_session_dir(session_dir)
        return [] if self.fs_check.ok else [self.fs_check.message]

    # -- the protocol --------------------------------------------------------------------------
    def total_slots(self) -> int:
        if self.config.max_concurrent is not None:
            return self.config.max_concurrent
        _nodes, cpus, gpus = self.partition_info()
        per = self.gpus_per_trial()
        if per > 0 and gpus > 0:
            return max(1, gpus // per)
        if cpus > 0:
            return max(1, cpus // self.options.cpus_per_task)
        return self.options.max_pending

    def capacity(self) -> int:
        self._refresh()
        active = [j for j in self._jobs.values() if j.final is None]
        pending = sum(1 for j in active if self._current(j).state == "queued")
        room = self.options.max_pending - pending
        if self.config.max_concurrent is not None:
            room = min(room, self.config.max_concurrent - len(active))
        return max(0, room)

    def submit(self, request: TrialRequest) -> Handle:
        if not request.argv:
            raise BackendError("cannot start trial: empty command")
        session_key, _ = split_token(request.token)
        name = job_name(session_key, request.number)
        gpus = self.gpus_per_trial()
        if self.fs_check is None:
            self.fs_check = self.check_session_dir(request.trial_dir)
        script = render_script(request, self.options, name, gpus, session_key)
        path, exit_file = write_script(request.trial_dir, script)
        res = self._run(
            ["sbatch", "--parsable", *self.options.sbatch_args, str(path)], sbatch_environment()
        )
        if res.returncode != 0:
            msg = (res.stderr or res.stdout).strip().replace("sbatch: error: ", "")
            raise BackendError(f"sbatch refused trial {request.number}: {msg or 'no message'}")
        job_id = sbatch_job_id(res.stdout or "")
        if not job_id:
            raise BackendError(f"sbatch gave no job id (output: {res.stdout.strip()!r})")
        handle = Handle(
            number=request.number,
            job_id=job_id,
            slot=f"slurm:{job_id}",
            gpus=[],
            token=request.token,
            submitted=time.time(),
            data={
                "job_name": name,
                "script": str(path),
                "exit_file": str(exit_file),
                "trial_dir": str(request.trial_dir),
                "gpus_per_trial": gpus,
            },
        )
        self._jobs[job_id] = _Job(handle, name, exit_file)
        return handle

    def poll(self, handles: Sequence[Handle]) -> dict[str, JobStatus]:
        self._refresh()
        now = time.monotonic()
        out: dict[str, JobStatus] = {}
        for handle in handles:
            job = self._jobs.get(handle.job_id)
            if job is None:
                out[handle.job_id] = JobStatus("done", None, None, "unknown to this runner")
                continue
            if job.final is None:
                row = self._snap.get(job.handle.job_id)
                if row is not None and row.state in FINAL_STATES:
                    job.final = self._finish(job, row.state, row.reason)
                elif row is None and job.covered:
                    job.final = self._finish(job, None, "")
            if job.final is not None:
                out[handle.job_id] = job.final
                continue
            if job.kill_at is not None and now >= job.kill_at:
                job.kill_at = None
                self._scancel([job.handle.job_id])
            out[handle.job_id] = self._current(job)
        return out

    def cancel(self, handle: Handle) -> None:
        job = self._jobs.get(handle.job_id)
        if job is None or job.final is not None or job.cancelled:
            return
        job.cancelled = True
        if self._current(job).state == "queued":
            self._scancel([handle.job_id])
            return
        res = self._run(["scancel", "--full", "--signal=TERM", handle.job_id])
        grace = self.config.kill_grace_s
        if res.returncode != 0 or grace <= 0:
            self._scancel([handle.job_id])
        else:
            job.kill_at = time.monotonic() + grace

    def release(self, handle: Handle) -> None:
        self._jobs.pop(handle.job_id, None)
        self._snap.pop(handle.job_id, None)

    def reattach(self, handle: Handle) -> bool:
        """Take over a job of a previous runner, if the job with that id is still ours.

        The job must carry the trial's job name (an id SLURM gave to another job means
        ours is gone). A job that ended while no runner watched is taken over too, and
        reported done from its ``exit_code`` file. Many reattaches share one ``squeue``
        of the user's jobs. Raises :class:`BackendError` when SLURM cannot be asked.
        """
        if handle.job_id in self._jobs:
            return True
        session_key, number = split_token(handle.token)
        name = str(handle.data.get("job_name") or job_name(session_key, number))
        trial_dir = handle.data.get("trial_dir")
        exit_path = handle.data.get("exit_file") or (
            str(Path(trial_dir) / EXIT_FILE) if trial_dir else None
        )
        if not handle.job_id.isdigit() or exit_path is None:
            return False
        job = _Job(handle, name, Path(exit_path), covered=True)
        rows = self._user_jobs()
        row = rows.get(handle.job_id)
        if row is None:
            found = self._sacct_record(handle.job_id)
            if found is not None:
                row = QueueRow(found.state, "", found.name)
        if row is not None and row.name != name:
            row = None  # the id was given to another job since: ours left the queue
            exit_code = read_exit_file(job.exit_file)
            if exit_code is None:
                return False
            job.final = status_from_exit(exit_code, "")
        elif row is None and not job.exit_file.exists():
            return False
        if row is not None:
            self._snap[handle.job_id] = row
        self._jobs[handle.job_id] = job
        return True

    def _user_jobs(self) -> dict[str, QueueRow]:
        """Every job of this user SLURM still knows (one ``squeue``, kept ``poll_s``)."""
        now = time.monotonic()
        if self._user_at is None or now - self._user_at >= max(self.options.poll_s, 1.0):
            res = self._run(["squeue", "-h", "-t", "all", "--me", "-o", SQUEUE_FORMAT])
            if res.returncode != 0:
                raise BackendError(f"squeue failed: {res.stderr.strip() or res.returncode}")
            self._user_rows, self._user_at = parse_squeue(res.stdout), now
        return self._user_rows

    def cleanup(self, session_key: str, numbers: Sequence[int] | None = None) -> int:
        """Cancel the jobs of a session (or of some of its trials) still in the queue."""
        res = self._run(["squeue", "-h", "--me", "-o", SQUEUE_FORMAT])
        if res.returncode != 0:
            raise BackendError(f"squeue failed: {res.stderr.strip()}")
        prefix = job_name(session_key, 0)[:-1]
        wanted = None if numbers is None else {job_name(session_key, n) for n in numbers}
        ids = []
        for row_id, row in parse_squeue(res.stdout).items():
            if row.state in FINAL_STATES:
                continue
            if wanted is None:
                mine = row.name.startswith(prefix) and row.name[len(prefix) :].isdigit()
            else:
                mine = row.name in wanted
            if mine:
                ids.append(row_id)
        if ids:
            self._scancel(ids)
        return len(ids)

    # -- internals -----------------------------------------------------------------------------
    def _current(self, job: _Job) -> JobStatus:
        """The status of a live job from the last snapshot (node and GRES once it runs)."""
        row = self._snap.get(job.handle.job_id)
        if row is None:  # not asked about yet, or gone from the queue between two polls
            return JobStatus("running") if job.covered else JobStatus("queued", reason="submitted")
        if row.state in QUEUED_STATES:
            reason = row.reason if row.reason not in ("None", "(null)") else ""
            return JobStatus("queued", reason=reason)
        reason = ""
        if row.state in RUNNING_STATES and row.state not in ("RUNNING", "COMPLETING"):
            reason = row.state.lower()
        return JobStatus("running", reason=reason, node=row.node, gres=row.gres)

    def _refresh(self) -> None:
        """One ``squeue`` for every live job, at most once per ``poll_s``."""
        now = time.monotonic()
        if self._snap_at is not None and now - self._snap_at < self.options.poll_s:
            return
        live = [j for j in self._jobs.values() if j.final is None]
        if not live:
            return
        ids = [j.handle.job_id for j in live]
        rows = self._squeue(ids)
        self._snap_at = time.monotonic()
        if rows is None:  # squeue failed: keep what we knew, decide nothing
            return
        self._snap = rows
        for job in live:
            job.covered = True

    def _squeue(self, ids: Sequence[str]) -> dict[str, QueueRow] | None:
        res = self._run(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", SQUEUE_FORMAT])
        if res.returncode != 0:
            if "Invalid job id" in res.stderr:
                return {}  # none of them is known any more
            self.stats.error(res.stderr.strip())
            return None
        return parse_squeue(res.stdout)

    def _scancel(self, ids: Sequence[str]) -> None:
        res = self._run(["scancel", *ids])
        if res.returncode != 0 and "already completing or completed" not in res.stderr:
            self.stats.error(res.stderr.strip())

    def _scontrol(self, job_id: str) -> JobRecord | None:
        """SLURM's record of a job from ``scontrol show job``, while slurmctld keeps it."""
        res = self._run(["scontrol", "-o", "show", "job", job_id])
        return parse_scontrol(res.stdout) if res.returncode == 0 else None

    def _sacct_record(self, job_id: str) -> JobRecord | None:
        """The same from accounting, when the cluster keeps it (often it does not).

        Only sacct's own words for "no accounting here" turn it off for good; a
        database that does not answer now may answer for the next job.
        """
        if self._sacct is False:
            return None
        try:
            res = self._run(["sacct", "-n", "-P", "-X", "-j", job_id, "-o", SACCT_FIELDS])
        except BackendError:  # no sacct binary, or it hangs: not worth a minute per job
            self._sacct = False
            return None
        if res.returncode != 0:
            if sacct_disabled(res.stderr):
                self._sacct = False
            else:
                self.stats.error(res.stderr.strip())
            return None
        self._sacct = True
        return parse_sacct(res.stdout)

    def _finish(self, job: _Job, state: str | None, reason: str) -> JobStatus:
        """The final status of a job that left the queue or reached a final state."""
        gone = lost(state)
        if gone is not None:
            return gone
        exit_code = read_exit_file(job.exit_file)
        record = None
        if state is None or exit_code is None:
            record = self._scontrol(job.handle.job_id) or self._sacct_record(job.handle.job_id)
        return final_status(
            state, reason, exit_code, record, cancelled=job.cancelled, exit_file=job.exit_file
        )
