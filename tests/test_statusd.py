"""The status child (kttui/runner/statusd.py): answers without the runner, dies with it.

`status` is answered by a child process of the runner from the reply the loop
published last, so it needs neither the runner's loop nor its GIL. Attacked here:
a runner that cannot run at all (SIGSTOP), an idle client hogging the child,
a killed child, and a killed runner (its child must not outlive it).
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from kttui.control import ControlError, request
from kttui.session import Session
from tests.conftest import kttui, pid_alive, wait_for, write_spec
from tests.runner_helpers import only_session

pytestmark = pytest.mark.timeout(240)


def status_children(runner: int) -> list[int]:
    """Live status children of a runner (by parent pid and the script's name)."""
    found = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == runner and any(a.endswith(b"statusd.py") for a in argv) and pid_alive(pid):
            found.append(pid)
    return found


def start(tmp_path: Path, store: Path) -> tuple[Session, int]:
    spec = write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 200, "epoch_s": 0.1},
        strategy={"sampler": "random", "n_trials": 2},
        resources={"backend": "local", "cpu_slots": 2, "kill_grace_s": 1},
    )
    assert kttui("run", str(spec), "--sessions-dir", str(store)).returncode == 0
    session = only_session(store)
    wait_for(lambda: len(request(session, "status", timeout=30)["running"]) == 2, timeout=60)
    return session, int(session.runner()["pid"])  # type: ignore[index]


def test_status_is_answered_while_the_runner_is_stopped_and_by_a_new_child(
    tmp_path: Path, store: Path
) -> None:
    session, runner = start(tmp_path, store)
    (child,) = wait_for(lambda: status_children(runner))
    sock_path = str(session.runner()["socket"])  # type: ignore[index]
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # connects, never sends
    idle.connect(sock_path)
    partial = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # half a request, then waits
    partial.connect(sock_path)
    partial.sendall(b'{"cmd": "sta')
    os.kill(runner, signal.SIGSTOP)  # nothing of the runner runs from here on
    try:
        for _ in range(20):  # answered by the child alone, past the idle clients
            status = request(session, "status", timeout=30)
            assert status["state"] == "running" and len(status["running"]) == 2
        with pytest.raises(ControlError):  # a command needs the runner: it times out
            request(session, "pause", timeout=0.5)
    finally:
        os.kill(runner, signal.SIGCONT)
        idle.close()
        partial.close()
    assert request(session, "pause", timeout=30)["state"] == "paused"
    assert request(session, "status")["state"] == "paused"  # never older than the reply
    os.kill(child, signal.SIGKILL)  # a new child takes over, with the latest status
    (second,) = wait_for(lambda: [p for p in status_children(runner) if p != child], timeout=30)
    assert request(session, "status", timeout=30)["state"] == "paused"
    assert request(session, "resume", timeout=30)["state"] == "running"
    assert request(session, "status")["state"] == "running"
    os.kill(runner, signal.SIGKILL)  # the child ends with its runner
    wait_for(lambda: not pid_alive(second), timeout=30)
    with pytest.raises(ControlError):
        request(session, "status", timeout=5)
    assert kttui("resume", session.id, "--sessions-dir", str(store)).returncode == 0
    wait_for(lambda: session.state() == "running", timeout=60)
    assert request(session, "status", timeout=30)["state"] == "running"  # a new runner's child
    assert kttui("shutdown", session.id, "--sessions-dir", str(store)).returncode == 0
    wait_for(lambda: session.state() == "stopped", timeout=60)


def test_a_runner_that_stops_leaves_no_status_child(tmp_path: Path, store: Path) -> None:
    session, runner = start(tmp_path, store)
    (child,) = wait_for(lambda: status_children(runner))
    assert kttui("shutdown", session.id, "--sessions-dir", str(store)).returncode == 0
    wait_for(lambda: session.state() == "stopped", timeout=60)
    wait_for(lambda: not pid_alive(child), timeout=30)
