"""One runner per session: an OS lock (``flock``) held for the runner's whole life.

Two runners on one session double the budget, share GPUs and overwrite each
other's socket. A pid file alone cannot prevent that (two starters both see
"no runner" and both go on); ``flock`` is atomic, and the kernel drops it when
the holder dies, even by SIGKILL, so a crashed runner never blocks a resume.

The starter (``kttui run``/``resume``, the console) takes the lock *before*
anything is written and hands the open descriptor to the detached runner,
which keeps it; the holder's pid is written into the lock file for the message
a second starter prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from kttui.backends.base import read_proc_stat

LOCK_NAME = "runner.lock"
#: How long a refused starter waits for the holder to name itself (the starter
#: that won names the runner it spawns only once that process exists) or to let go
#: (a killed runner's threads are still being torn down).
SETTLE_S = 3.0


class SessionBusy(Exception):
    """Another live process holds the session's runner lock."""

    def __init__(self, session_id: str, pid: int | None) -> None:
        self.pid = pid
        holder = f"runner pid {pid}" if pid else "another runner"
        super().__init__(f"session {session_id} is held by {holder}; only one runner per session")


class SessionLock:
    """The held lock; ``fd`` can be passed to a child process, which then holds it too."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def acquire(
        cls, session_path: Path, session_id: str | None = None, *, announce: bool = True
    ) -> SessionLock:
        """Take the lock without waiting, or raise :class:`SessionBusy` naming the holder.

        ``announce=False``: a starter that hands the lock to a runner it is about to
        spawn writes that runner's pid instead (:meth:`set_owner`), so a refused
        starter never names a process that is about to exit.
        """
        path = session_path / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + SETTLE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # A runner killed a moment ago can still hold it: its main thread is a
                # zombie already (the session says crashed) while its other threads are
                # still being torn down. Refused only once the holder is a live process.
                pid = holder(session_path)
                if (pid is not None and _alive(pid)) or time.monotonic() >= deadline:
                    os.close(fd)
                    raise SessionBusy(session_id or session_path.name, pid) from None
                time.sleep(0.02)
        lock = cls(path, fd)
        if announce:
            lock.set_owner(os.getpid())
        return lock

    @classmethod
    def adopt(cls, session_path: Path, fd: int) -> SessionLock:
        """The lock a starter took and passed down as ``fd`` (already held)."""
        lock = cls(session_path / LOCK_NAME, fd)
        os.set_inheritable(fd, False)  # trials never hold it
        lock.set_owner(os.getpid())
        return lock

    def set_owner(self, pid: int) -> None:
        """Record who holds the lock now (the starter hands it to the runner's pid)."""
        data = f"{pid}\n".encode()
        with contextlib.suppress(OSError):
            # written, then cut to length: a reader never sees an empty file
            os.pwrite(self.fd, data, 0)
            os.ftruncate(self.fd, len(data))

    def release(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def holder(session_path: Path) -> int | None:
    """The pid written by the lock's holder (for messages; the lock itself decides)."""
    try:
        return int((session_path / LOCK_NAME).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    """Running, not a zombie: a crashed runner nobody reaped still answers ``kill 0``."""
    stat = read_proc_stat(pid)
    return stat is not None and stat.state not in ("Z", "X")
