"""The runner lock names its holder truthfully, even while a starter hands it over."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kttui.sessionlock import LOCK_NAME, SessionBusy, SessionLock, holder
from tests.conftest import wait_for


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_refused_starter_waits_for_the_new_holder_to_name_itself(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text(f"{_dead_pid()}\n")  # a crashed runner's pid
    lock = SessionLock.acquire(tmp_path, "s", announce=False)  # a starter, about to spawn
    try:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            timer = threading.Timer(0.5, lock.set_owner, args=(child.pid,))
            timer.start()
            with pytest.raises(SessionBusy) as refused:
                SessionLock.acquire(tmp_path, "s")
            timer.join()
            assert refused.value.pid == child.pid  # never the dead pid left in the file
            assert f"runner pid {child.pid}" in str(refused.value)
        finally:
            child.kill()
            child.wait()
    finally:
        lock.release()


def test_a_crashed_holder_never_blocks_and_the_new_one_is_named(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text(f"{_dead_pid()}\n")
    lock = SessionLock.acquire(tmp_path, "s")  # the kernel dropped the crashed runner's lock
    try:
        assert holder(tmp_path) == os.getpid()
    finally:
        lock.release()


def test_the_holder_file_is_never_empty_while_owners_change(tmp_path: Path) -> None:
    lock = SessionLock.acquire(tmp_path, "s")
    seen: list[int | None] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(holder(tmp_path))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        deadline = time.monotonic() + 1.0
        pid = 1
        while time.monotonic() < deadline:
            lock.set_owner(pid)
            pid = 1 if pid > 10**6 else pid * 7 + 3
    finally:
        stop.set()
        reader.join()
        lock.release()
    # a longer old pid may trail a shorter new one for a moment, but a reader always finds a pid
    assert seen and None not in seen


#: Holds the lock, names itself, then its main thread exits (a zombie) while another
#: thread lives on for argv[2] seconds: a runner just killed, its threads not yet gone.
ZOMBIE_LEADER = """
import ctypes, fcntl, os, sys, threading, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.pwrite(fd, f"{os.getpid()}\\n".encode(), 0)
threading.Thread(target=time.sleep, args=(float(sys.argv[2]),)).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def test_a_killed_runner_whose_threads_linger_is_waited_for_not_named(tmp_path: Path) -> None:
    """`crashed` shows as soon as the runner's main thread is a zombie; its lock goes
    with its last thread. A resume at that moment takes over rather than refusing."""
    proc = subprocess.Popen([sys.executable, "-c", ZOMBIE_LEADER, str(tmp_path / LOCK_NAME), "2"])
    try:
        wait_for(lambda: holder(tmp_path) == proc.pid, timeout=30)
        wait_for(lambda: Path(f"/proc/{proc.pid}/stat").read_text().split()[2] == "Z")
        assert len(os.listdir(f"/proc/{proc.pid}/task")) == 2  # the lingering thread holds it
        lock = SessionLock.acquire(tmp_path, "s")
        try:
            assert holder(tmp_path) == os.getpid()
        finally:
            lock.release()
    finally:
        proc.kill()
        proc.wait()
