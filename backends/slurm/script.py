"""A trial's batch script (``job.sh``), rendered as a pure function of the request.

``#SBATCH`` directives for the options, the trial's environment as quoted ``export``
lines (``sbatch`` runs with a minimal environment and ``--export=ALL``, so the script
says what the trial sees and can be resubmitted by hand), a ``cd`` to the request's
cwd, the argv quoted with :func:`shlex.quote`, and a last line that writes the trial's
exit status to ``exit_code`` in the trial directory. SLURM chooses the GPUs and sets
``CUDA_VISIBLE_DEVICES``.

The trial runs in the background of the batch shell, which passes ``USR1``/``USR2``
on to it: jobs are submitted with ``--signal=B:USR1@120`` so a trial can checkpoint
before its time limit (``B:`` because without it SLURM signals job steps only, and
a trial started straight from the batch script is not one).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from kttui.backends.base import TOKEN_ENV, BackendError, TrialRequest
from kttui.backends.slurm.options import SlurmOptions

SCRIPT_NAME = "job.sh"
EXIT_FILE = "exit_code"
JOB_PREFIX = "kttui"

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


def sbatch_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The few variables ``sbatch`` runs with (and, by ``--export=ALL``, the job starts with).

    ``--export=NONE`` would make slurmd load the user's login environment on the node
    (about a second per job, and whatever the login scripts set); a minimal environment
    for sbatch keeps the script the one source of the trial's environment and keeps
    the runner's secrets out of slurmctld's job records.
    """
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if _SBATCH_ENV.match(k)}


def job_name(session_key: str, number: int) -> str:
    """``kttui-<session key>-<n>``, with characters SLURM or a shell might mind replaced."""
    return _JOB_NAME_UNSAFE.sub("_", f"{JOB_PREFIX}-{session_key}-{number}")


def split_token(token: str) -> tuple[str, int]:
    """(session key, trial number) of a trial token ``<session key>:<n>`` (Session.trial_key)."""
    session, _, number = token.rpartition(":")
    return session, int(number)


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
    request: TrialRequest, options: SlurmOptions, name: str, gpus: int, session_key: str
) -> str:
    """The batch script of one trial (pure: a function of its arguments)."""
    q = shlex.quote
    exit_file = request.trial_dir / EXIT_FILE
    lines = ["#!/bin/bash", *directives(request, options, name, gpus)]
    if options.sbatch_args:
        extra = shlex.join(options.sbatch_args)
        lines.append(f"# extra sbatch arguments (on the command line): {extra}")
    lines += [
        f"# kttui trial {request.number} of session {session_key}",
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


def write_script(trial_dir: Path, script: str) -> tuple[Path, Path]:
    """Write ``job.sh`` (0700) and remove an old ``exit_code``; return both paths.

    A stale exit file from an earlier attempt in the same directory would otherwise
    be read as this job's result.
    """
    path, exit_file = trial_dir / SCRIPT_NAME, trial_dir / EXIT_FILE
    try:
        trial_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            exit_file.unlink()
        path.write_text(script, encoding="utf-8")
        path.chmod(0o700)
    except OSError as exc:
        raise BackendError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path, exit_file
