"""The early-failure streak that pauses a sweep whose command is broken."""

from __future__ import annotations

from pathlib import Path

from kttui.failstreak import FailStreak, Outcome
from kttui.session import Session
from tests.conftest import kttui, wait_for, write_spec


def fail(n: int, code: int | None = 2, epochs: int = 0, tail: tuple[str, ...] = ()) -> Outcome:
    return Outcome(n, True, code, epochs, tail)


def test_three_identical_early_failures_pause_with_the_stderr_tail() -> None:
    streak = FailStreak(3)
    assert streak.add(fail(0)) is None
    assert streak.add(fail(1)) is None
    got = streak.add(fail(2, tail=("Traceback ...", "ModuleNotFoundError: no module named x", "")))
    assert got is not None
    assert got.numbers == (0, 1, 2) and got.exit_code == 2
    assert "exit code 2" in got.reason and "ModuleNotFoundError" in got.reason
    assert "resume" in got.reason
    # once reported, it stays quiet until the user resumes
    assert streak.add(fail(3)) is None


def test_a_success_or_an_epoch_settles_it() -> None:
    streak = FailStreak(2)
    assert streak.add(Outcome(0, False, 0, 5)) is None
    assert streak.add(fail(1)) is None and streak.add(fail(2)) is None
    streak = FailStreak(2)
    assert streak.add(fail(0, epochs=1)) is None  # it trained: not a broken command
    assert streak.add(fail(1)) is None and streak.add(fail(2)) is None


def test_different_exit_codes_are_not_one_cause() -> None:
    streak = FailStreak(2)
    assert streak.add(fail(0, code=1)) is None
    assert streak.add(fail(1, code=137)) is None
    assert streak.add(fail(2, code=1)) is None


def test_reset_counts_again_and_zero_turns_it_off() -> None:
    streak = FailStreak(2)
    streak.add(fail(0))
    assert streak.add(fail(1)) is not None
    streak.reset()
    assert streak.add(fail(2)) is None
    assert streak.add(fail(3)) is not None
    off = FailStreak(0)
    assert all(off.add(fail(n)) is None for n in range(5))


def test_no_exit_code_is_named() -> None:
    streak = FailStreak(1)
    got = streak.add(fail(0, code=None))
    assert got is not None and "no exit code" in got.reason and "(stderr" not in got.reason


def test_a_sweep_of_a_broken_command_pauses_and_resumes(store: Path, tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path / "spec.yaml",
        fixed={"epochs": 3, "epoch_s": 0.01, "fail_at": 1, "exit_code": 7},
        strategy={"n_trials": 8},
        resources={"cpu_slots": 1},
    )
    assert kttui("run", str(spec), "--sessions-dir", str(store)).returncode == 0
    session = Session.open(store, None)
    wait_for(lambda: session.state() == "paused", timeout=60)
    reason = (session.runner() or {}).get("reason", "")
    assert "failed before any epoch with exit code 7" in reason, reason
    assert "something went wrong" in reason  # the stderr's last line
    launched = len(session.trial_statuses())
    assert launched == 3
    pause = [e for e in session.events() if e.get("event") == "pause"]
    assert pause and "something went wrong at epoch 1" in "\n".join(pause[-1]["stderr_tail"])
    out = kttui("resume-launch", session.id, "--sessions-dir", str(store))
    assert out.returncode == 0, out.stderr
    wait_for(lambda: len(session.trial_statuses()) > launched, timeout=60)
    # the next three identical failures pause it again, with a fresh count
    wait_for(lambda: session.state() == "paused" and len(session.trial_statuses()) == 6, 60)
