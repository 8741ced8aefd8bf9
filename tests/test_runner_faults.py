"""The runner under faults (issue 12): two starters, a crash while trials run, a stuck loop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kttui.control import ControlError, request
from kttui.heartbeat import STALE_S
from kttui.runner.loop import HOLD_ENV
from kttui.session import Session
from tests.conftest import kttui, pid_alive, wait_for, write_spec
from tests.runner_helpers import only_session, study_of


def runner_processes(session: Session) -> list[int]:
    """Live kttui processes holding this session's runner lock open (its runners: the
    command forks the runner, which keeps the lock for its life; trials never get it)."""
    lock = str(session.path / "runner.lock")
    found = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        held = False
        for fd in fds:  # (one may close while we look)
            with contextlib.suppress(OSError):
                held = held or os.readlink(f"/proc/{pid}/fd/{fd}") == lock
        if held and any(b"kttui" in a for a in argv) and pid_alive(pid):
            found.append(pid)
    return found


def crashed_session(tmp_path: Path, store: Path, **resources: object) -> Session:
    """A session whose runner was killed with SIGKILL while 2 trials ran."""
    spec = write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 12, "epoch_s": 0.25},
        strategy={"sampler": "random", "n_trials": 4, "seed": 5},
        resources={"backend": "local", "cpu_slots": 2, "retries": 0, **resources},
    )
    assert kttui("run", str(spec), "--sessions-dir", str(store)).returncode == 0
    session = only_session(store)
    wait_for(lambda: [s["state"] for s in session.trial_statuses()].count("running") == 2)
    pid = int(session.runner()["pid"])  # type: ignore[index]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), timeout=5)
    assert session.state() == "crashed"
    return session


def test_two_concurrent_resumes_start_exactly_one_runner(tmp_path: Path, store: Path) -> None:
    session = crashed_session(tmp_path, store)
    argv = [sys.executable, "-m", "kttui", "resume", session.id, "--sessions-dir", str(store)]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    runner_pid = int(session.runner()["pid"])  # type: ignore[index]
    loser = next(err for code, _, err in results if code == 2)
    assert f"held by runner pid {runner_pid}" in loser and "Traceback" not in loser
    assert runner_processes(session) == [runner_pid]
    # a third starter, in the foreground this time, is refused the same way
    proc = kttui("resume", session.id, "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 2 and f"pid {runner_pid}" in proc.stderr
    wait_for(lambda: session.state() == "finished", timeout=90)
    trials = [t for t in study_of(session).trials if not t.user_attrs.get("kttui:unused")]
    assert len(trials) == 4  # the budget, not twice the budget
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert not any("UpdateFinishedTrialError" in line for line in session.runner_log.open())


def test_trials_that_finish_while_the_runner_is_down_complete(tmp_path: Path, store: Path) -> None:
    session = crashed_session(tmp_path, store)
    running = [s for s in session.trial_statuses() if s["state"] == "running"]
    pids = [int(s["pid"]) for s in running]
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=30)  # they end on their own
    for st in running:  # each left how it ended, though no runner was its parent
        assert (session.trial_dir(st["number"]) / "exit.json").is_file()
    assert kttui("resume", session.id, "--sessions-dir", str(store)).returncode == 0
    wait_for(lambda: session.state() == "finished", timeout=90)
    study = study_of(session)
    for st in running:
        t = study.trials[st["number"]]
        assert t.state.name == "COMPLETE", t.user_attrs
        assert t.user_attrs["kttui:epochs"] == 12
        assert sorted(t.intermediate_values) == list(range(1, 13))
        status = session.trial_status(st["number"])
        assert status is not None and status["state"] == "complete" and status["epochs"] == 12
    trials = [t for t in study.trials if not t.user_attrs.get("kttui:unused")]
    assert len(trials) == 4 and all(t.state.name == "COMPLETE" for t in trials)


def two_long_trials(tmp_path: Path) -> Path:
    """Two 20 s trials on two slots: the runner stays busy while a test holds or stops it."""
    return write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 200, "epoch_s": 0.1},
        strategy={"sampler": "random", "n_trials": 2},
        resources={"backend": "local", "cpu_slots": 2, "kill_grace_s": 1},
    )


def test_a_stuck_runner_is_reported_and_a_timed_out_command_never_applied(
    tmp_path: Path, store: Path
) -> None:
    spec = two_long_trials(tmp_path)
    assert kttui("run", str(spec), "--sessions-dir", str(store)).returncode == 0
    session = only_session(store)
    pid = int(session.runner()["pid"])  # type: ignore[index]
    os.kill(pid, signal.SIGSTOP)  # the loop is stuck: it reads nothing, answers nothing
    try:
        with pytest.raises(ControlError):
            request(session, "pause", timeout=0.5)
        wait_for(
            lambda: "runner not responding" in kttui("status", "--sessions-dir", str(store)).stdout,
            timeout=STALE_S + 10,
            interval=0.5,
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: "not responding" not in kttui("status", "--sessions-dir", str(store)).stdout)
    # the old request waited in the socket's queue: read now, and refused
    wait_for(lambda: [e["cmd"] for e in session.events() if e["event"] == "expired"] == ["pause"])
    assert session.state() == "running"
    assert not [e for e in session.events() if e["event"] == "pause"]
    assert request(session, "pause")["state"] == "paused"  # a live command still works
    assert kttui("shutdown", session.id, "--sessions-dir", str(store)).returncode == 0
    wait_for(lambda: session.state() == "stopped", timeout=20)


def test_status_answers_while_the_loop_is_held_and_commands_wait_for_it(
    tmp_path: Path, store: Path
) -> None:
    """`status` comes from the socket's own threads; state changes still go through the loop."""
    spec = two_long_trials(tmp_path)
    hold = tmp_path / "hold"
    env = {HOLD_ENV: str(hold)}
    assert kttui("run", str(spec), "--sessions-dir", str(store), env=env).returncode == 0
    session = only_session(store)
    wait_for(lambda: len(request(session, "status")["running"]) == 2)
    hold.touch()
    wait_for(lambda: Path(f"{hold}.held").exists())  # the loop is held from here on
    try:
        status = request(session, "status", timeout=30)
        assert status["state"] == "running" and len(status["running"]) == 2
        with pytest.raises(ControlError):  # the client gives up: it must never be applied
            request(session, "pause", timeout=0.5)
        answers: list[dict[str, object]] = []
        patient = threading.Thread(
            target=lambda: answers.append(request(session, "pause", timeout=120))
        )
        patient.start()
        wait_for(lambda: request(session, "status")["state"] == "running")
        assert patient.is_alive() and not answers  # answered only once the loop applied it
    finally:
        hold.unlink()
    patient.join(60)
    assert answers and answers[0]["state"] == "paused"  # applied, then answered
    wait_for(lambda: [e["cmd"] for e in session.events() if e["event"] == "expired"] == ["pause"])
    assert [e["state"] for e in session.events() if e["event"] == "pause"] == ["paused"]
    assert request(session, "status")["state"] == "paused"
    sock_path = str(session.runner()["socket"])  # type: ignore[index]
    for hostile in (b"garbage\n", b"[1, 2]\n", b'{"cmd": "kill"}\n', b'{"cmd": 7}\n', b"\xff\n"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(sock_path)
            sock.sendall(hostile)
            reply = json.loads(sock.makefile("rb").readline())
        assert reply["ok"] is False and reply["error"], (hostile, reply)
    assert request(session, "status")["state"] == "paused"  # and the runner carries on
    assert kttui("shutdown", session.id, "--sessions-dir", str(store)).returncode == 0
    wait_for(lambda: session.state() == "stopped", timeout=20)
