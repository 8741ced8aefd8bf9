"""Starting the runner detached from the terminal (and the entry point it runs).

The runner gets its own session (``setsid``) with stdio on files, so closing
the terminal, losing SSH (SIGHUP) or Ctrl-C in the launching shell never
reaches it. ``python -m kttui.daemon SESSION_DIR [--resume] [--lock-fd N]`` is
what runs: the starter takes the session lock (kttui.sessionlock) before
anything is written and passes it down, so two starters never get two runners.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import os
import signal
import subprocess
import sys
import time
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
) -> int:
    """Start the detached runner and wait until it reports; return its pid.

    Raises :class:`SessionBusy` (naming the holder's pid) when a runner holds the session.
    """
    lock = SessionLock.acquire(session.path, session.id, announce=False)
    # -P: ``python -m`` would otherwise put the caller's directory first on sys.path,
    # and a folder named kttui/ there (a clone of this repository) would shadow the
    # installed package.
    argv = [
        sys.executable,
        "-P",
        "-m",
        "kttui.daemon",
        str(session.path),
        "--lock-fd",
        str(lock.fd),
    ]
    if resume:
        argv.append("--resume")
    before = (session.runner() or {}).get("updated")
    try:
        with open(session.runner_log, "ab") as logfile:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=logfile,
                start_new_session=True,
                close_fds=True,
                pass_fds=(lock.fd,),
                cwd=cwd,
                env={**os.environ, **env} if env else None,
            )
        lock.set_owner(proc.pid)
    finally:
        lock.release()  # the runner holds the same open lock from now on
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = session.runner() or {}
        if (
            info.get("pid") == proc.pid
            and info.get("updated") != before
            and info.get("state") in ("running", "paused", "finished", "stopped")
        ):
            return proc.pid
        code = proc.poll()
        if code is not None:
            info = session.runner() or {}
            if info.get("pid") == proc.pid and info.get("state") in ("finished", "stopped"):
                return proc.pid
            raise DaemonError(_failure(session, f"the runner exited with code {code}"))
        time.sleep(0.05)
    raise DaemonError(_failure(session, f"the runner did not start within {START_TIMEOUT_S:.0f} s"))


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
