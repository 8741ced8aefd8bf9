"""The regret rule's model fit runs in a child process: the runner's loop never waits for it."""

from __future__ import annotations

import time
from pathlib import Path

from kttui.control import request
from kttui.regretfit import MARK_ENV, STALL_ENV
from kttui.session import Session, list_sessions
from tests.conftest import kttui, pid_alive, wait_for, write_spec

STALL_S = 8.0


def _regret_spec(tmp_path: Path, n_trials: int, below: float) -> Path:
    return write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 1, "epoch_s": 0.0},
        strategy={"sampler": "random", "n_trials": n_trials, "seed": 0},
        stop_when={"regret_below": below, "min_trials": 5},
    )


def _session(store: Path) -> Session:
    (session,) = list_sessions(store)
    return session


def test_status_answers_while_a_fit_holds_its_process(tmp_path: Path, store: Path) -> None:
    """The fit holds the GIL for 8 s (a PyDLL call); on a thread of the runner, status would
    wait for it. In its own process it answers at once, and the fit's result still arrives."""
    mark = tmp_path / "fit.mark"
    env = {STALL_ENV: str(STALL_S), MARK_ENV: str(mark)}
    spec = _regret_spec(tmp_path, n_trials=400, below=1e-12)
    proc = kttui("run", str(spec), "--sessions-dir", str(store), env=env)
    assert proc.returncode == 0, proc.stderr
    session = _session(store)
    runner_pid = int((session.runner() or {})["pid"])
    wait_for(lambda: mark.exists() and mark.read_text().strip(), timeout=120)
    fit_pid, started = mark.read_text().split()[:2]
    assert int(fit_pid) != runner_pid
    answers = []
    for _ in range(5):
        t0 = time.monotonic()
        reply = request(session, "status", timeout=30)
        answers.append(time.monotonic() - t0)
        assert reply["ok"], reply
    # the answers came while the fit was still stalled (else they prove nothing)
    assert time.time() - float(started) < STALL_S, "the machine was too slow to tell"
    assert max(answers) < 1.0, answers
    # the result comes back to the loop: a regret event, then the next fit
    wait_for(lambda: any(e["event"] == "regret" for e in session.events()), timeout=120)
    request(session, "stop", timeout=30)
    wait_for(lambda: session.state() in ("stopped", "finished"), timeout=120)
    wait_for(lambda: not pid_alive(int(fit_pid)), timeout=30)  # the fit process ends with it


def test_the_fit_in_its_process_stops_the_sweep(tmp_path: Path, store: Path) -> None:
    spec = _regret_spec(tmp_path, n_trials=200, below=1e9)  # any bound is below it
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session = _session(store)
    events = list(session.events())
    fits = [e for e in events if e["event"] == "regret"]
    assert fits and fits[0]["trials"] >= 5
    (rule,) = [e for e in events if e["event"] == "stop_rule"]
    assert "estimated room for improvement" in rule["reason"]
    assert len(session.trial_statuses()) < 200
