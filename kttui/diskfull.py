"""A full disk pauses the runner instead of crashing it, and space coming back resumes it.

The session (study.db, status and event files, the trials' folders) lives on one
filesystem. When it fills up, every write can fail: SQLite says "database or disk
is full" (which Optuna re-raises as a misleading "exceeding max length"), files
raise ENOSPC. The guard notices in two ways: before it happens (free space below
:data:`LOW_BYTES`) and when a write fails with one of those errors. Then the runner
launches nothing, records nothing (a finished trial waits in memory, its process
already gone), keeps its running trials, and says "disk full" in runner.json.

runner.json itself needs room to say so: the guard keeps a small reserve file in
the session and deletes it the moment the disk is full. Every :data:`PROBE_S` it
tries to write the reserve back; once that works and :data:`HIGH_BYTES` are free,
the runner records what waited and launches again, with nobody's help.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from kttui import pending
from kttui.atomicfile import write_json_atomic

#: less free than this counts as full before any write fails (0: only failed writes count)
LOW_BYTES = int(os.environ.get("KTTUI_DISK_LOW_BYTES") or 1 << 20)
HIGH_BYTES = 4 << 20  #: free space needed to resume (hysteresis: no flapping at the edge)
RESERVE_BYTES = 256 << 10  #: the reserve file, freed to write runner.json on a full disk
PROBE_S = 1.0
RESERVE_NAME = ".disk-reserve"
_FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded")


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` or any exception it wraps says the disk (or a quota) is full."""
    return full_cause(exc) is not None


def full_cause(exc: BaseException) -> str | None:
    """The words of the wrapped error that says the disk is full (not Optuna's wrapper's)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in pending.FULL_ERRNOS:
            return current.strerror or os.strerror(current.errno or 0)
        text = str(current).lower()
        for words in _FULL_TEXTS:
            if words in text:
                return words
        current = current.__cause__ or current.__context__
    return None


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on ``path``'s filesystem."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


class DiskGuard:
    """The disk-full state of one session; the runner asks it once per tick."""

    def __init__(self, session_dir: Path) -> None:
        self.dir = session_dir
        self.reserve = session_dir / RESERVE_NAME
        self.full = False
        self.what = ""
        #: trial number -> the backend's final status, for trials whose recording failed
        self.deferred: dict[int, Any] = {}
        self._next_probe = 0.0
        self._paused_by_us = False
        self._write_reserve()

    # -- noticing ----------------------------------------------------------------
    def absorb(self, exc: BaseException) -> bool:
        """Enter the full state if ``exc`` is a full disk; False means: not ours, re-raise."""
        cause = full_cause(exc)
        if cause is None:
            return False
        self._enter(cause)
        return True

    def defer(
        self, exc: BaseException, trial: Any, status: Any, running: dict[int, Any], storage: Any
    ) -> bool:
        """A finished trial could not be recorded: keep it to record again once there is room.

        A trial already told to the study is not told twice (the rest of its record is lost).
        """
        if not self.absorb(exc):
            return False
        try:
            told = storage.get_trial(trial.trial_id).state.is_finished()
        except Exception:
            told = False  # the read failed too: the write that failed was the tell's
        if not told:
            running[trial.number] = trial
            self.deferred[trial.number] = status
        return True

    def _enter(self, what: str) -> None:
        if not self.full:
            with contextlib.suppress(OSError):
                self.reserve.unlink()  # room for runner.json and the events that say why
        self.full, self.what = True, what
        self._next_probe = time.monotonic() + PROBE_S

    # -- the runner's state --------------------------------------------------------
    def update(self, state: str, reason: str) -> tuple[str, str]:
        """The runner's (state, reason) after looking at the disk; call once per tick."""
        if not self.full:
            free = free_bytes(self.dir)
            if free is not None and free < LOW_BYTES:
                self._enter(f"{free // 1024} KiB free")
            elif pending.waiting():
                self._enter("a write failed for lack of space")
        elif time.monotonic() >= self._next_probe:
            self._next_probe = time.monotonic() + PROBE_S
            free = free_bytes(self.dir)
            room = free is None or free >= HIGH_BYTES
            if room and self._write_reserve() and pending.flush(write_json_atomic):
                self.full = False
        if self.full and state == "running":
            self._paused_by_us = True
            return "paused", f"disk full ({self.what}) on {self.dir.parent}; resumes by itself"
        if not self.full and self._paused_by_us:
            self._paused_by_us = False
            if state == "paused" and reason.startswith("disk full"):
                return "running", ""
        return state, reason

    def close(self) -> None:
        """The runner is done: the reserve has nothing left to protect."""
        with contextlib.suppress(OSError):
            self.reserve.unlink()

    def _write_reserve(self) -> bool:
        """Write the reserve file in full; False (and no file) when the disk has no room."""
        if self.reserve.exists() and self.reserve.stat().st_size >= RESERVE_BYTES:
            return True
        try:
            with open(self.reserve, "wb") as fh:
                fh.write(b"\0" * RESERVE_BYTES)  # the filesystem reserves the blocks now
            return True
        except OSError:
            with contextlib.suppress(OSError):
                self.reserve.unlink()
            return False
