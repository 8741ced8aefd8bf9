"""The SLURM backend: each trial is one ``sbatch`` job; all jobs are watched with one ``squeue``.

A trial becomes a batch script in its trial directory (``job.sh``): ``#SBATCH``
directives for the options, the trial's environment as quoted ``export`` lines
(``sbatch`` runs with a minimal environment and ``--export=ALL``, so the script says
what the trial sees and can be resubmitted by hand), a ``cd`` to the request's cwd,
the argv quoted with :func:`shlex.quote`, and a last line that writes the trial's exit
status to ``exit_code`` in the trial directory. SLURM chooses the GPUs and sets
``CUDA_VISIBLE_DEVICES``.

The trial runs in the background of the batch shell, which passes ``USR1``/``USR2``
on to it: jobs are submitted with ``--signal=B:USR1@120`` so a trial can checkpoint
before its time limit (``B:`` because without it SLURM signals job steps only, and
a trial started straight from the batch script is not one).

Every SLURM command goes through :attr:`SlurmBackend.run_cmd` (injectable). The
queue is read with one ``squeue`` call per ``poll_s`` for every job at once, shared
by :meth:`poll` and :meth:`capacity`; a job's end is read from its ``exit_code`` file,
then ``scontrol show job``, then ``sacct`` when accounting exists.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from kttui.backends.base import (
    TOKEN_ENV,
    Backend,
    BackendConfig,
    BackendError,
    Handle,
    JobStatus,
    TrialRequest,
)


#: Runs one SLURM command (argv, never a shell) and returns its result.
class CommandRunner(Protocol):
    def __call__(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]: ...


SCRIPT_NAME = "job.sh"
EXIT_FILE = "exit_code"
JOB_PREFIX = "kttui"
DEFAULT_MAX_PENDING = 20
DEFAULT_POLL_S = 5.0
DEFAULT_SIGNAL = "B:USR1@120"
COMMAND_TIMEOUT_S = 60.0
SQUEUE_FORMAT = "%i|%T|%r|%j"

#: Options read from ``BackendConfig.options`` (anything else is an error).
OPTION_KEYS = frozenset(
    {
        "partition",
        "account",
        "qos",
        "mem",
        "time",
        "cpus_per_task",
        "gpus_per_trial",
        "sbatch_args",
        "max_pending",
        "poll_s",
        "signal",
        "requeue",
    }
)

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

#: Variables of the runner's environment that never travel to a compute node:
#: the scheduler's own, the login session's, and kttui's database password.
_SKIP_ENV = re.compile(
    r"^(SLURM_.*|SBATCH_.*|SALLOC_.*|SRUN_.*|CUDA_VISIBLE_DEVICES|GPU_DEVICE_ORDINAL|"
    r"ROCR_VISIBLE_DEVICES|HIP_VISIBLE_DEVICES|HOSTNAME|HOST|DISPLAY|SSH_.*|XDG_RUNTIME_DIR|"
    r"XDG_SESSION_.*|DBUS_SESSION_BUS_ADDRESS|TMUX|TMUX_PANE|STY|WINDOW|PWD|OLDPWD|SHLVL|_|"
    r"KTTUI_DB_PASSWORD|KTTUI_SLOT)$"
)
_SBATCH_ENV = re.compile(
    r"^(PATH|HOME|USER|LOGNAME|LANG|LC_[A-Z]+|TZ|TMPDIR|SLURM_CONF|SLURM_CLUSTERS|"
    r"SLURM_TIME_FORMAT|KRB5CCNAME)$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JOB_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
_NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "lustre",
        "gpfs",
        "beegfs",
        "ceph",
        "cephfs",
        "glusterfs",
        "cifs",
        "smb3",
        "smbfs",
        "panfs",
        "wekafs",
        "pvfs2",
        "orangefs",
        "afs",
        "9p",
        "virtiofs",
        "davfs",
    }
)
_NETWORK_FUSE = ("sshfs", "glusterfs", "ceph", "s3fs", "gcsfuse", "juicefs", "lizardfs")
_LOCAL_ONLY_FS = frozenset({"tmpfs", "ramfs", "devtmpfs", "overlay", "squashfs"})
_LOCAL_ONLY_PATHS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local", "/local")


def run_command(
    argv: Sequence[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The default :class:`CommandRunner`: no shell, no stdin, a timeout."""
    return subprocess.run(
        list(argv),
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def sbatch_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The few variables ``sbatch`` runs with (and, by ``--export=ALL``, the job starts with).

    ``--export=NONE`` would make slurmd load the user's login environment on the node
    (about a second per job, and whatever the login scripts set); a minimal environment
    for sbatch keeps the script the one source of the trial's environment and keeps
    the runner's secrets out of slurmctld's job records.
    """
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if _SBATCH_ENV.match(k)}


def job_name(session_id: str, number: int) -> str:
    """``kttui-<session>-<n>``, with characters SLURM or a shell might mind replaced."""
    return _JOB_NAME_UNSAFE.sub("_", f"{JOB_PREFIX}-{session_id}-{number}")


def split_token(token: str) -> tuple[str, int]:
    session, _, number = token.rpartition(":")
    return session, int(number)


@dataclass(frozen=True)
class SlurmOptions:
    """``BackendConfig.options`` checked and with defaults."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    mem: str | None = None
    time: str | None = None
    cpus_per_task: int = 1
    gpus_per_trial: int | None = None  # None: from BackendConfig (see SlurmBackend)
    sbatch_args: tuple[str, ...] = ()
    max_pending: int = DEFAULT_MAX_PENDING
    poll_s: float = DEFAULT_POLL_S
    signal: str | None = DEFAULT_SIGNAL
    requeue: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> SlurmOptions:
        unknown = sorted(set(raw) - OPTION_KEYS)
        if unknown:
            known = ", ".join(sorted(OPTION_KEYS))
            raise BackendError(f"unknown slurm option(s) {unknown} (known: {known})")

        def check(value: str, key: str) -> str:
            if not value or any(c in value for c in '"\\\n\r') or value != value.strip():
                raise BackendError(f"slurm option {key}={value!r} is empty or has a quote")
            return value

        def text(key: str) -> str | None:
            value = raw.get(key)
            return None if value is None else check(str(value), key)

        def integer(key: str, default: int | None, low: int) -> int | None:
            value = raw.get(key, default)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise BackendError(f"slurm option {key} must be an integer >= {low}")
            return value

        sbatch_args = raw.get("sbatch_args") or []
        if isinstance(sbatch_args, str) or not all(isinstance(a, str) for a in sbatch_args):
            raise BackendError("slurm option sbatch_args must be a list of strings")
        poll_s = raw.get("poll_s", DEFAULT_POLL_S)
        if isinstance(poll_s, bool) or not isinstance(poll_s, int | float) or poll_s < 0:
            raise BackendError("slurm option poll_s must be a number >= 0")
        time_limit = raw.get("time")
        if isinstance(time_limit, int | float) and not isinstance(time_limit, bool):
            time_limit = str(max(1, math.ceil(time_limit)))  # minutes
        signal_opt = raw.get("signal", DEFAULT_SIGNAL)
        return cls(
            partition=text("partition"),
            account=text("account"),
            qos=text("qos"),
            mem=text("mem"),
            time=text("time") if time_limit is None else str(time_limit),
            cpus_per_task=integer("cpus_per_task", 1, 1) or 1,
            gpus_per_trial=integer("gpus_per_trial", None, 0),
            sbatch_args=tuple(sbatch_args),
            max_pending=integer("max_pending", DEFAULT_MAX_PENDING, 1) or DEFAULT_MAX_PENDING,
            poll_s=float(poll_s),
            signal=None if signal_opt in (None, "", False) else check(str(signal_opt), "signal"),
            requeue=bool(raw.get("requeue", False)),
        )


def _directive_value(value: str) -> str:
    """A value for an ``#SBATCH`` line (double quotes are how sbatch reads spaces)."""
    if any(c in value for c in '"\n\r'):
        raise BackendError(f"cannot pass {value!r} to sbatch: it contains a quote or a newline")
    return f'"{value}"' if any(c.isspace() for c in value) else value


def _filename_pattern(path: Path) -> str:
    """A path for ``--output``/``--error``: SLURM expands ``%``, so ``%`` is written ``%%``."""
    return str(path).replace("%", "%%")


def directives(request: TrialRequest, options: SlurmOptions, name: str, gpus: int) -> list[str]:
    """The ``#SBATCH`` options of a trial's batch script, in a stable order."""
    opts: list[tuple[str, str | None]] = [
        ("job-name", name),
        ("output", _filename_pattern(request.stdout)),
        ("error", _filename_pattern(request.stderr)),
        ("open-mode", "append"),
        ("chdir", str(request.trial_dir)),
        ("export", "ALL"),
        ("nodes", "1"),
        ("ntasks", "1"),
        ("cpus-per-task", str(options.cpus_per_task)),
        ("gres", f"gpu:{gpus}" if gpus > 0 else None),
        ("mem", options.mem),
        ("time", options.time),
        ("partition", options.partition),
        ("account", options.account),
        ("qos", options.qos),
        ("signal", options.signal),
        ("requeue" if options.requeue else "no-requeue", ""),
    ]
    lines = []
    for key, value in opts:
        if value is None:
            continue
        lines.append(f"#SBATCH --{key}" + (f"={_directive_value(value)}" if value else ""))
    return lines


def trial_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The part of a request's env written into the script (see ``_SKIP_ENV``)."""
    return {
        k: v
        for k, v in sorted(env.items())
        if _ENV_NAME.match(k) and not _SKIP_ENV.match(k) and "\0" not in v
    }


_SCRIPT_BODY = """\
export KTTUI_SLOT="slurm:${{SLURM_JOB_ID:-?}}@${{SLURMD_NODENAME:-?}}"
export KTTUI_NUM_THREADS="${{KTTUI_NUM_THREADS:-${{SLURM_CPUS_PER_TASK:-1}}}}"
_kttui_exit={exit_file}
_kttui_end() {{
    printf '%s\\n' "$1" >"$_kttui_exit.tmp" && mv -f -- "$_kttui_exit.tmp" "$_kttui_exit"
    exit "$1"
}}
cd -- {cwd} || {{ printf '%s\\n' {cd_error} >&2; _kttui_end 1; }}
# The trial runs in the background so that USR1/USR2 (--signal=B:USR1@120 before the
# time limit goes to this shell only) are passed on to it at once. TERM and HUP reach
# the trial from SLURM itself; this shell ignores them from here on, so that nothing
# cuts its `wait` short (bash loses the exit status of a child reaped meanwhile).
_kttui_pid=
_kttui_fwd() {{
    _kttui_got=1
    [ -n "$_kttui_pid" ] && kill -s "$1" "$_kttui_pid" 2>/dev/null
}}
trap '_kttui_fwd USR1' USR1
trap '_kttui_fwd USR2' USR2
{argv} </dev/null &
_kttui_pid=$!
trap '' TERM HUP
while :; do
    _kttui_got=0
    wait "$_kttui_pid"
    _kttui_rc=$?
    # a forwarded signal cut the wait short: go on waiting while the trial lives
    [ "$_kttui_got" = 1 ] && kill -0 "$_kttui_pid" 2>/dev/null && continue
    break
done
_kttui_end "$_kttui_rc"
"""


def render_script(
    request: TrialRequest, options: SlurmOptions, name: str, gpus: int, session_id: str
) -> str:
    """The batch script of one trial (pure: a function of its arguments)."""
    q = shlex.quote
    exit_file = request.trial_dir / EXIT_FILE
    lines = ["#!/bin/bash", *directives(request, options, name, gpus)]
    if options.sbatch_args:
        extra = shlex.join(options.sbatch_args)
        lines.append(f"# extra sbatch arguments (on the command line): {extra}")
    lines += [
        f"# kttui trial {request.number} of session {session_id}",
        f"# resubmit by hand: sbatch {q(str(request.trial_dir / SCRIPT_NAME))}",
        "# sbatch ran with a minimal environment (PATH, HOME, USER, ...): the lines below",
        "# are the trial's environment.",
    ]
    env = trial_environment(request.env)
    env[TOKEN_ENV] = request.token
    lines += [f"export {k}={q(v)}" for k, v in env.items()]
    if gpus <= 0:
        lines.append("export CUDA_VISIBLE_DEVICES=")
    body = _SCRIPT_BODY.format(
        exit_file=q(str(exit_file)),
        cwd=q(str(request.cwd)),
        cd_error=q(f"kttui: cannot cd to {request.cwd}"),
        argv=shlex.join(request.argv),
    )
    lines.append(body)
    return "\n".join(lines)


# -- the shared-filesystem check ------------------------------------------------------------


@dataclass(frozen=True)
class FsCheck:
    """Whether the compute nodes can see a path; ``ok`` False means a warning for the user."""

    path: str
    mount: str
    fstype: str
    nodes: int
    ok: bool
    message: str


def _mount_of(path: Path, mountinfo: str) -> tuple[str, str]:
    """(mount point, fs type) of the longest mount containing ``path``."""
    best, best_type = "/", "unknown"
    target = str(path)
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        if len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        fstype = right.split()[0] if right.split() else "unknown"
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, fstype
    return best, best_type


def check_shared_filesystem(path: Path | str, nodes: int, mountinfo: str | None = None) -> FsCheck:
    """Is ``path`` on a filesystem that ``nodes`` compute nodes share?

    Network filesystems (NFS, Lustre, GPFS, BeeGFS, CephFS, ...) are shared; tmpfs,
    ``/tmp``-like paths and local disks are not, which only matters with more than
    one node (on a one-node cluster the trials run where the session lives).
    """
    real = Path(os.path.realpath(path))
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            mountinfo = ""
    mount, fstype = _mount_of(real, mountinfo)
    base = fstype.split(".", 1)[-1] if fstype.startswith("fuse.") else fstype
    network = fstype in _NETWORK_FS or (
        fstype.startswith("fuse.") and any(n in base for n in _NETWORK_FUSE)
    )
    local_path = any(str(real) == p or str(real).startswith(p + "/") for p in _LOCAL_ONLY_PATHS)
    where = f"{real} is on {fstype} ({mount})"
    if network:
        return FsCheck(str(real), mount, fstype, nodes, True, f"{where}: shared with the nodes")
    if nodes <= 1:
        return FsCheck(
            str(real), mount, fstype, nodes, True, f"{where}; one node: need not be shared"
        )
    if fstype in _LOCAL_ONLY_FS or local_path:
        kind = "a memory filesystem" if fstype in ("tmpfs", "ramfs") else "a node-local path"
        msg = (
            f"{where}, {kind}: the {nodes} nodes of the partition cannot see it; "
            "put the session store on a shared filesystem (--sessions-dir or $KTTUI_HOME)"
        )
        return FsCheck(str(real), mount, fstype, nodes, False, msg)
    msg = (
        f"{where}, which looks local to this machine, and the partition has {nodes} nodes; "
        "trials on other nodes will not find their files unless it is shared"
    )
    return FsCheck(str(real), mount, fstype, nodes, False, msg)


# -- the backend -------------------------------------------------------------------------------


@dataclass
class _Job:
    handle: Handle
    name: str
    exit_file: Path
    covered: bool = False  # a queue snapshot taken after submission asked about it
    state: str = "PENDING"
    reason: str = "submitted"
    cancelled: bool = False
    kill_at: float | None = None
    final: JobStatus | None = None


@dataclass
class _Row:
    state: str
    reason: str
    name: str


@dataclass
class QueueStats:
    """Commands run so far, and the last errors SLURM gave (for status displays)."""

    squeue_calls: int = 0
    sbatch_calls: int = 0
    other_calls: int = 0
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors.append(message)
        del self.errors[:-20]


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
        self._snap: dict[str, _Row] = {}
        self._snap_at: float | None = None  # monotonic time of the last squeue answer
        self._gpus: int | None = self.options.gpus_per_trial
        self._partition_info: tuple[int, int, int] | None = None  # nodes, cpus, gpus
        self._sacct: bool | None = None
        self._user_rows: dict[str, _Row] = {}
        self._user_at: float | None = None
        self.fs_check: FsCheck | None = None

    # -- commands ------------------------------------------------------------------------------
    def _run(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        if argv[0] == "squeue":
            self.stats.squeue_calls += 1
        elif argv[0] == "sbatch":
            self.stats.sbatch_calls += 1
        else:
            self.stats.other_calls += 1
        try:
            return self.run_cmd(argv, env) if env is not None else self.run_cmd(argv)
        except FileNotFoundError:
            raise BackendError(
                f"{argv[0]} not found: run kttui on a SLURM login node (or install slurm-client)"
            ) from None
        except subprocess.TimeoutExpired:
            raise BackendError(f"{argv[0]} did not answer in {COMMAND_TIMEOUT_S:g} s") from None

    # -- the partition -------------------------------------------------------------------------
    def partition_info(self) -> tuple[int, int, int]:
        """(nodes, CPUs, GPUs) of the partition, from one ``sinfo`` call (cached)."""
        if self._partition_info is None:
            argv = ["sinfo", "-h", "-o", "%D|%c|%G"]
            if self.options.partition:
                argv += ["-p", self.options.partition]
            nodes = cpus = gpus = 0
            try:
                res = self._run(argv)
            except BackendError:
                res = None
            if res is not None and res.returncode == 0:
                for line in res.stdout.splitlines():
                    parts = line.strip().split("|")
                    if len(parts) != 3 or not parts[0].isdigit():
                        continue
                    n = int(parts[0])
                    nodes += n
                    cpus += n * int(parts[1].rstrip("+") or 0) if parts[1][:1].isdigit() else 0
                    gpus += n * _gres_gpus(parts[2])
            self._partition_info = (nodes, cpus, gpus)
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
        pending = sum(1 for j in active if self._current(j)[0] == "queued")
        room = self.options.max_pending - pending
        if self.config.max_concurrent is not None:
            room = min(room, self.config.max_concurrent - len(active))
        return max(0, room)

    def submit(self, request: TrialRequest) -> Handle:
        if not request.argv:
            raise BackendError("cannot start trial: empty command")
        session_id, _ = split_token(request.token)
        name = job_name(session_id, request.number)
        gpus = self.gpus_per_trial()
        script = render_script(request, self.options, name, gpus, session_id)
        path = request.trial_dir / SCRIPT_NAME
        exit_file = request.trial_dir / EXIT_FILE
        if self.fs_check is None:
            self.fs_check = self.check_session_dir(request.trial_dir)
        try:
            request.trial_dir.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                exit_file.unlink()
            path.write_text(script, encoding="utf-8")
            path.chmod(0o700)
        except OSError as exc:
            raise BackendError(f"cannot write {path}: {exc.strerror or exc}") from None
        res = self._run(
            ["sbatch", "--parsable", *self.options.sbatch_args, str(path)], sbatch_environment()
        )
        if res.returncode != 0:
            msg = (res.stderr or res.stdout).strip().replace("sbatch: error: ", "")
            raise BackendError(f"sbatch refused trial {request.number}: {msg or 'no message'}")
        job_id = res.stdout.strip().splitlines()[-1].split(";")[0].strip() if res.stdout else ""
        if not job_id.isdigit():
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
            state, reason = self._current(job)
            out[handle.job_id] = JobStatus(state, reason=reason)
        return out

    def cancel(self, handle: Handle) -> None:
        job = self._jobs.get(handle.job_id)
        if job is None or job.final is not None or job.cancelled:
            return
        job.cancelled = True
        if self._current(job)[0] == "queued":
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
        session_id, number = split_token(handle.token)
        name = str(handle.data.get("job_name") or job_name(session_id, number))
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
            found = self._sacct_row(handle.job_id)
            if found is not None:
                row = _Row(found[0], "", found[2])
        if row is not None and row.name != name:
            row = None  # the id was given to another job since: ours left the queue
            exit_code = _read_exit_file(job.exit_file)
            if exit_code is None:
                return False
            job.final = _status(exit_code, "")
        elif row is None and not job.exit_file.exists():
            return False
        if row is not None:
            job.state, job.reason = row.state, row.reason
            self._snap[handle.job_id] = row
        self._jobs[handle.job_id] = job
        return True

    def _user_jobs(self) -> dict[str, _Row]:
        """Every job of this user SLURM still knows (one ``squeue``, kept ``poll_s``)."""
        now = time.monotonic()
        if self._user_at is None or now - self._user_at >= max(self.options.poll_s, 1.0):
            res = self._run(["squeue", "-h", "-t", "all", "--me", "-o", SQUEUE_FORMAT])
            if res.returncode != 0:
                raise BackendError(f"squeue failed: {res.stderr.strip() or res.returncode}")
            self._user_rows, self._user_at = _parse_squeue(res.stdout), now
        return self._user_rows

    def cleanup(self, session_id: str, numbers: Sequence[int] | None = None) -> int:
        """Cancel the jobs of a session (or of some of its trials) still in the queue."""
        res = self._run(["squeue", "-h", "--me", "-o", SQUEUE_FORMAT])
        if res.returncode != 0:
            raise BackendError(f"squeue failed: {res.stderr.strip()}")
        prefix = job_name(session_id, 0)[:-1]
        wanted = None if numbers is None else {job_name(session_id, n) for n in numbers}
        ids = []
        for row_id, row in _parse_squeue(res.stdout).items():
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
    def _current(self, job: _Job) -> tuple[Literal["queued", "running"], str]:
        """("queued" | "running", reason) of a live job from the last snapshot."""
        row = self._snap.get(job.handle.job_id)
        if row is None:
            return ("queued", "submitted") if not job.covered else ("running", "")
        if row.state in RUNNING_STATES:
            return "running", "" if row.state in ("RUNNING", "COMPLETING") else row.state.lower()
        if row.state in QUEUED_STATES:
            return "queued", row.reason if row.reason not in ("None", "(null)") else ""
        return "running", ""

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
            row = rows.get(job.handle.job_id)
            if row is not None:
                job.state, job.reason = row.state, row.reason

    def _squeue(self, ids: Sequence[str]) -> dict[str, _Row] | None:
        res = self._run(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", SQUEUE_FORMAT])
        if res.returncode != 0:
            if "Invalid job id" in res.stderr:
                return {}  # none of them is known any more
            self.stats.error(res.stderr.strip())
            return None
        return _parse_squeue(res.stdout)

    def _scancel(self, ids: Sequence[str]) -> None:
        res = self._run(["scancel", *ids])
        if res.returncode != 0 and "already completing or completed" not in res.stderr:
            self.stats.error(res.stderr.strip())

    def _scontrol(self, job_id: str) -> tuple[str, tuple[int, int] | None, str] | None:
        """(state, (exit code, signal), name) from ``scontrol show job``, while SLURM keeps it."""
        res = self._run(["scontrol", "-o", "show", "job", job_id])
        if res.returncode != 0 or "JobState=" not in res.stdout:
            return None
        text = res.stdout
        state = re.search(r"\bJobState=(\S+)", text)
        code = re.search(r"\bExitCode=(\d+):(\d+)", text)
        name = re.search(r"\bJobName=(\S+)", text)
        return (
            state.group(1) if state else "UNKNOWN",
            (int(code.group(1)), int(code.group(2))) if code else None,
            name.group(1) if name else "",
        )

    def _sacct_row(self, job_id: str) -> tuple[str, tuple[int, int] | None, str] | None:
        """The same from accounting, when the cluster has it (often it does not)."""
        if self._sacct is False:
            return None
        try:
            res = self._run(
                ["sacct", "-n", "-P", "-X", "-j", job_id, "-o", "State,ExitCode,JobName"]
            )
        except BackendError:
            self._sacct = False
            return None
        if res.returncode != 0:
            if "disabled" in res.stderr or "not" in res.stderr:
                self._sacct = False
            return None
        self._sacct = True
        for line in res.stdout.splitlines():
            parts = line.split("|")
            if len(parts) >= 3:
                code = re.match(r"(\d+):(\d+)", parts[1])
                return (
                    parts[0].split()[0],
                    (int(code.group(1)), int(code.group(2))) if code else None,
                    parts[2],
                )
        return None

    def _finish(self, job: _Job, state: str | None, reason: str) -> JobStatus:
        """The final status of a job that left the queue or reached a final state."""
        if state in LOST_STATES:
            return JobStatus("done", None, None, LOST_STATES[state])
        exit_code = _read_exit_file(job.exit_file)
        slurm_code: tuple[int, int] | None = None
        if state is None or exit_code is None:
            found = self._scontrol(job.handle.job_id) or self._sacct_row(job.handle.job_id)
            if found is not None:
                state = state or found[0]
                slurm_code = found[1]
            if state in LOST_STATES:
                return JobStatus("done", None, None, LOST_STATES[state])
        why = "cancelled" if job.cancelled else STATE_REASONS.get(state or "", "")
        if exit_code is None and slurm_code is not None:
            rc, sig = slurm_code
            if sig:  # the batch shell itself was killed (SIGKILL after KillWait, ...)
                exit_code = 128 + sig
            elif not why:  # the script ended without writing its exit code
                exit_code = rc
                if state == "COMPLETED":
                    why = f"no {EXIT_FILE} file: is {job.exit_file.parent} shared with the nodes?"
                elif reason and reason not in ("None", "NonZeroExitCode"):
                    why = f"job failed: {reason}"
        if exit_code is None:
            if state is None:
                return JobStatus("done", None, None, why or "job left the queue without a trace")
            return JobStatus("done", None, None, why or f"job ended as {state}")
        return _status(exit_code, why)


def _status(exit_code: int, why: str) -> JobStatus:
    """A final status from a shell exit status (128+N: killed by signal N)."""
    if 128 < exit_code < 128 + 65:
        sig = exit_code - 128
        try:
            signame = signal.Signals(sig).name
        except ValueError:
            signame = f"signal {sig}"
        return JobStatus("done", None, sig, f"{why} ({signame})" if why else signame)
    return JobStatus("done", exit_code, None, why)


def _parse_squeue(text: str) -> dict[str, _Row]:
    rows: dict[str, _Row] = {}
    for line in text.splitlines():
        parts = line.strip().split("|", 3)
        if len(parts) != 4 or not parts[0]:
            continue
        rows[parts[0]] = _Row(parts[1].split()[0] if parts[1] else "", parts[2], parts[3])
    return rows


def _gres_gpus(gres: str) -> int:
    """GPUs in a ``sinfo %G`` value such as ``gpu:4`` or ``gpu:a100:8(S:0-1),shard:16``."""
    total = 0
    for item in gres.split(","):
        item = re.sub(r"\(.*?\)", "", item)
        parts = item.split(":")
        if parts[0] == "gpu" and len(parts) >= 2 and parts[-1].isdigit():
            total += int(parts[-1])
    return total


def _read_exit_file(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


BACKEND = SlurmBackend
