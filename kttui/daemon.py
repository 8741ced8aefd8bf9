"""Starting the runner detached from the terminal (and the entry point it runs).

The runner gets its own session (``setsid``) with stdio on files, so closing
the terminal, losing SSH (SIGHUP) or Ctrl-C in the launching shell never
reaches it. ``python -m kttui.daemon SESSION_DIR [--resume] [--lock-fd N]`` is
what runs: the starter takes the session lock (kttui.sessionlock) before
anything is written and passes it down, so two starters never get two runners.

The ``kttui`` command (one thread, nothing else to do) forks the runner instead
of starting a fresh interpreter: a resumed runner is launching again sooner by
the interpreter's start and the imports the command has already paid for
(kttui.session and what it needs). Anything with threads (the console) gets a
fresh interpreter, as forking a threaded process is unsafe.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from kttui.session import Session
from kttui.sessionlock import SessionBusy, SessionLock

START_TIMEOUT_S = 30.0


class DaemonError(Exception):
    """The runner did not come up; the message includes the end of its log."""


def spawn_runner(
    session: Session,
    *,
    resume: bool = False,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    fork: bool = False,
) -> int:
    """Start the detached runner and wait until it reports; return its pid.

    ``fork``: the caller is a short-lived command whose process may become the runner
    (ignored while the caller runs other threads). Raises :class:`SessionBusy` (naming
    the holder's pid) when a runner holds the session.
    """
    lock = SessionLock.acquire(session.path, session.id, announce=False)
    args = [str(session.path), "--lock-fd", str(lock.fd)] + (["--resume"] if resume else [])
    before = (session.runner() or {}).get("updated")
    try:
        with open(session.runner_log, "ab") as logfile:
            if fork and threading.active_count() == 1:
                pid, poll = _fork(args, logfile.fileno(), lock.fd, cwd, env)
            else:
                pid, poll = _exec(args, logfile.fileno(), lock.fd, cwd, env)
        lock.set_owner(pid)
    finally:
        lock.release()  # the runner holds the same open lock from now on
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = session.runner() or {}
        if (
            info.get("pid") == pid
            and info.get("updated") != before
            and info.get("state") in ("running", "paused", "finished", "stopped")
        ):
            return pid
        code = poll()
        if code is not None:
            info = session.runner() or {}
            if info.get("pid") == pid and info.get("state") in ("finished", "stopped"):
                return pid
            raise DaemonError(_failure(session, f"the runner exited with code {code}"))
        time.sleep(0.05)
    raise DaemonError(_failure(session, f"the runner did not start within {START_TIMEOUT_S:.0f} s"))


Poll = Callable[[], int | None]


def _exec(
    args: list[str], log_fd: int, lock_fd: int, cwd: Path | None, env: dict[str, str] | None
) -> tuple[int, Poll]:
    """The runner in a fresh interpreter: ``python -P -m kttui.daemon ARGS``."""
    # -P: ``python -m`` would otherwise put the caller's directory first on sys.path,
    # and a folder named kttui/ there (a clone of this repository) would shadow the
    # installed package.
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "kttui.daemon", *args],
        stdin=subprocess.DEVNULL,
        stdout=log_fd,
        stderr=log_fd,
        start_new_session=True,
        close_fds=True,
        pass_fds=(lock_fd,),
        cwd=cwd,
        env={**os.environ, **env} if env else None,
    )
    return proc.pid, proc.poll


def _fork(
    args: list[str], log_fd: int, lock_fd: int, cwd: Path | None, env: dict[str, str] | None
) -> tuple[int, Poll]:
    """This process, forked, becomes the runner (as :func:`_exec` would start it)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the runner: never returns into the caller's code
        code = 1
        try:
            _detach(log_fd, lock_fd, cwd, env)
            code = main(args)
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def poll() -> int | None:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return -1
        return os.waitstatus_to_exitcode(status) if done else None

    return pid, poll


def _detach(log_fd: int, lock_fd: int, cwd: Path | None, env: dict[str, str] | None) -> None:
    """In the forked runner: what ``Popen(start_new_session=True, close_fds=True)`` and
    ``-P`` give. The command holds no descriptors but these two (and stdio): the others
    were inherited from whatever started it, and the runner must not keep them open."""
    os.setsid()
    keep = sorted({log_fd, lock_fd})
    os.closerange(3, keep[0])
    os.closerange(keep[0] + 1, keep[-1])
    os.closerange(keep[-1] + 1, os.sysconf("SC_OPEN_MAX"))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # the caller's stdout/stderr (a pipe its own caller reads to EOF) are let go of
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    if cwd is not None:
        os.chdir(cwd)
    if env:
        os.environ.update(env)
    if not sys.flags.safe_path and sys.path:
        del sys.path[0]  # the caller's script or working directory (see -P in _exec)


def _failure(session: Session, what: str) -> str:
    try:
        lines = session.runner_log.read_text(errors="replace").splitlines()[-15:]
    except OSError:
        lines = []
    reason = (session.runner() or {}).get("reason")
    detail = f"\n  reason: {reason}" if reason else ""
    tail = "\n".join("  | " + line for line in lines)
    return f"{what}{detail}\n  log: {session.runner_log}\n{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kttui-runner")
    parser.add_argument("session")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--lock-fd", type=int, default=None)
    args = parser.parse_args(argv)
    # Start-up allocates about a million objects (Optuna, SQLAlchemy, pydantic) that all
    # live: the cyclic collector would walk them again and again for nothing. The runner
    # freezes them and turns it back on once it launches (kttui.runner.loop).
    gc.disable()
    from kttui.runner import Runner

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID`: every thread's stack to the log
    session = Session(Path(args.session).resolve())
    try:
        if args.lock_fd is not None:
            lock = SessionLock.adopt(session.path, args.lock_fd)
        else:
            lock = SessionLock.acquire(session.path, session.id)
    except SessionBusy as exc:
        print(f"kttui: {exc}", file=sys.stderr)
        return 2
    return Runner(session, lock=lock).run(resume=args.resume)


if __name__ == "__main__":
    sys.exit(main())
