"""Finding and killing every process of a trial, including ones that escaped its group.

``killpg`` misses grandchildren that called ``setsid`` (dataloader workers,
daemonised helpers). Every trial process inherits ``KTTUI_TRIAL_TOKEN`` in its
environment, so the tree is found by scanning ``/proc`` for the token, plus
the session/group id and parent links as a fallback for processes that
cleared their environment. This works after a runner restart too, when no
parent link leads back to us.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Iterable

from kttui.backends.base import TOKEN_ENV, ProcStat, read_proc_stat

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Orphaned trial descendants are re-parented to us rather than to init (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def alive(pid: int, started: int | None = None) -> bool:
    """``pid`` runs (not a zombie) and, if ``started`` is given, is the same process."""
    st = read_proc_stat(pid)
    if st is None or st.state in ("Z", "X"):
        return False
    return started is None or st.start_time == started


def _token(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = b"\0" + fh.read()
    except OSError:
        return None
    # one search of the block, not a split of it: every process's environment is read
    # at each trial's end, on the runner (thousands of variables over a busy machine)
    key = b"\0" + TOKEN_ENV.encode() + b"="
    at = env.find(key)
    if at < 0:
        return None
    start = at + len(key)
    end = env.find(b"\0", start)
    return env[start : end if end >= 0 else len(env)].decode(errors="replace")


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def find_processes(
    tokens: Iterable[str] = (),
    prefix: str | None = None,
    roots: Iterable[int] = (),
    born_since: int | None = None,
) -> set[int]:
    """Live (non-zombie) pids whose token matches, or in the group/session/subtree of roots.

    ``born_since`` (clock ticks since boot, as ``ProcStat.start_time``): a process
    started before it cannot carry the tokens (all of a trial descends from its
    leader), so its environment is not read.
    """
    wanted = set(tokens)
    root_set = {r for r in roots if r > 0}
    me = os.getpid()
    table: dict[int, ProcStat] = {}
    found: set[int] = set()
    for pid in _pids():
        if pid == me:
            continue
        st = read_proc_stat(pid)
        if st is None or st.state == "Z":
            continue
        table[pid] = st
        if (wanted or prefix) and (born_since is None or st.start_time >= born_since):
            token = _token(pid)
            if token is not None and (token in wanted or (prefix and token.startswith(prefix))):
                found.add(pid)
        if root_set and (pid in root_set or st.pgid in root_set or st.sid in root_set):
            found.add(pid)
    # descendants of anything found (processes that cleared their environment)
    changed = True
    while changed:
        changed = False
        for pid, st in table.items():
            if pid not in found and st.ppid in found:
                found.add(pid)
                changed = True
    return found


def signal_all(pids: Iterable[int], sig: int) -> int:
    sent = 0
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            sent += 1
    return sent


def reap_zombie_children(exclude: Iterable[int] = ()) -> None:
    """Collect orphans re-parented to us (as subreaper) once they exit."""
    skip = set(exclude)
    me = os.getpid()
    for pid in _pids():
        if pid in skip:
            continue
        st = read_proc_stat(pid)
        if st is not None and st.ppid == me and st.state == "Z":
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)


def kill_now(pids: Iterable[int]) -> int:
    return signal_all(pids, signal.SIGKILL)
