"""The runner with real trial processes, a real SQLite study and the local backend."""

from __future__ import annotations

import os
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import optuna
import pytest

from kttui.session import list_sessions
from kttui.specload import load_spec
from kttui.strategies import make_plan
from tests.conftest import TRAINER, kttui, pid_alive, wait_for, write_spec
from tests.runner_helpers import (
    metric_lines,
    only_session,
    records,
    runner_status,
    study_of,
    two_loop_turns,
)


def test_twelve_trials_on_four_fake_gpus_two_per_gpu(tmp_path: Path, store: Path) -> None:
    record = tmp_path / "record.jsonl"
    spec = write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 4, "epoch_s": 0.6, "record": str(record)},
        strategy={"sampler": "random", "n_trials": 12, "seed": 1},
        resources={"backend": "local", "gpus": "auto", "trials_per_gpu": 2, "cpu_slots": None},
    )
    proc = kttui(
        "run", str(spec), "--foreground", "--sessions-dir", str(store), env={"KTTUI_FAKE_GPUS": "4"}
    )
    assert proc.returncode == 0, proc.stderr
    session = only_session(store)
    statuses = session.trial_statuses()
    assert [s["state"] for s in statuses] == ["complete"] * 12
    seen = records(record)
    assert len(seen) == 12
    # No GPU ever carries more than 2 trials, no slot more than 1.
    by_gpu: dict[str, list[tuple[float, float]]] = defaultdict(list)
    by_slot: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in seen:
        assert r["cuda"] in {"0", "1", "2", "3"}
        by_gpu[r["cuda"]].append((r["start"], r["end"]))
        by_slot[r["slot"]].append((r["start"], r["end"]))
    assert max(max_overlap(v) for v in by_gpu.values()) <= 2
    assert max(max_overlap(v) for v in by_slot.values()) == 1
    # really in parallel (2.4 s trials: eight launches fit inside the first one, even loaded)
    assert max_overlap([iv for v in by_gpu.values() for iv in v]) > 4
    # The study holds exactly what the files say.
    study = study_of(session)
    trials = {t.number: t for t in study.trials}
    assert len(trials) == 12
    for st in statuses:
        t = trials[st["number"]]
        assert t.state == optuna.trial.TrialState.COMPLETE
        lines = metric_lines(session, st["number"])
        assert t.value == st["value"] == max(line["score"] for line in lines)
        assert t.intermediate_values == {line["epoch"]: line["score"] for line in lines}
        assert t.params["x"] == st["params"]["x"]
        env = next(r["env"] for r in seen if r["trial"] == st["number"])
        tdir = str(session.trial_dir(st["number"]))
        assert env["KTTUI_TRIAL_DIR"] == tdir
        assert env["KTTUI_METRICS"] == tdir + "/metrics.jsonl"
        assert env["KTTUI_PARAMS"] == tdir + "/params.json"
        assert env["KTTUI_TRIAL_NUMBER"] == str(st["number"])
        assert env["KTTUI_SESSION"] == str(session.path)
    kinds = [e["event"] for e in session.events()]
    assert kinds.count("launch") == 12 and kinds.count("finish") == 12


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = cur = 0
    for _, delta in points:
        cur += delta
        best = max(best, cur)
    return best


def _grid_seed_with_last(spec_path: Path, last: Any, at_least: int) -> int:
    """A seed whose shuffled grid puts ``last`` at position >= at_least (deterministic)."""
    text = spec_path.read_text()
    for seed in range(100):
        spec_path.write_text(text.replace("seed: 0", f"seed: {seed}"))
        loaded = load_spec(spec_path)
        order = [p["x"] for p in make_plan(loaded.spec, loaded.space).queue]
        if order.index(last) >= at_least:
            return seed
    raise AssertionError("no seed found")


def test_pruning_kills_the_whole_process_tree(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        space={"x": {"type": "categorical", "choices": [0.9, 0.8, 0.7, 0.1]}},
        fixed={"epoch_s": 0.05, "grandchild": "setsid"},
        derived={"epochs": "60 if x < 0.5 else 4"},
        strategy={"sampler": "grid", "seed": 0},
        pruner={"type": "median", "min_epochs": 1, "n_startup_trials": 2},
        resources={"backend": "local", "cpu_slots": 1, "kill_grace_s": 1},
    )
    _grid_seed_with_last(spec, 0.1, at_least=2)
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session = only_session(store)
    by_x = {s["params"]["x"]: s for s in session.trial_statuses()}
    bad = by_x[0.1]
    assert bad["state"] == "pruned", bad
    assert bad["reason"].startswith("pruned at epoch")
    assert bad["epochs"] < 10  # stopped early, not after 60 epochs
    grandchild = int((session.trial_dir(bad["number"]) / "grandchild.pid").read_text())
    wait_for(lambda: not pid_alive(grandchild), timeout=5)
    for x in (0.9, 0.8, 0.7):
        assert by_x[x]["state"] == "complete"
        gc = int((session.trial_dir(by_x[x]["number"]) / "grandchild.pid").read_text())
        assert not pid_alive(gc)  # leftovers of finished trials are reaped too
    study = study_of(session)
    assert study.trials[bad["number"]].state == optuna.trial.TrialState.PRUNED


def test_failing_trials_keep_epochs_and_free_the_slot(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        space={"x": {"type": "categorical", "choices": [0.1, 0.2, 0.5, 0.6]}},
        fixed={"epochs": 5, "epoch_s": 0.05},
        derived={"fail_at": "3 if x == 0.1 else 0", "signal_at": "3 if x == 0.2 else 0"},
        strategy={"sampler": "grid", "seed": 0},
        resources={"backend": "local", "cpu_slots": 1},
    )
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session = only_session(store)
    by_x = {s["params"]["x"]: s for s in session.trial_statuses()}
    failed = by_x[0.1]
    assert failed["state"] == "fail" and failed["exit_code"] == 1
    assert failed["reason"] == "exit code 1"
    assert any("something went wrong at epoch 3" in line for line in failed["stderr_tail"])
    assert [m["epoch"] for m in metric_lines(session, failed["number"])] == [1, 2]
    killed = by_x[0.2]
    assert killed["state"] == "fail" and killed["signal"] == signal.SIGKILL
    assert "SIGKILL" in killed["reason"]
    assert by_x[0.5]["state"] == by_x[0.6]["state"] == "complete"
    study = study_of(session)
    assert study.trials[failed["number"]].intermediate_values == {1: 0.05, 2: 0.07500000000000001}
    # The slot is reused at once: the next launch follows a failure within half a second.
    events = list(session.events())
    for i, e in enumerate(events):
        if e["event"] == "fail" and i + 1 < len(events) and events[i + 1]["event"] == "launch":
            assert events[i + 1]["ts"] - e["ts"] < 0.5


def test_param_with_shell_syntax_is_one_literal_argument(tmp_path: Path, store: Path) -> None:
    record = tmp_path / "record.jsonl"
    evil = "; rm -rf x"
    spec = write_spec(
        tmp_path / "s.yaml",
        command=["{python}", str(TRAINER), "--tag", "{tag}", "--x={x}"],
        space={
            "tag": {"type": "categorical", "choices": [evil, "$(touch pwned)"]},
            "x": {"type": "categorical", "choices": [0.5]},
        },
        fixed={"epochs": 1, "record": str(record)},
        strategy={"sampler": "grid"},
    )
    (tmp_path / "x").mkdir()
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    argvs = sorted(r["argv"] for r in records(record))
    assert argvs == [["--tag", "$(touch pwned)", "--x=0.5"], ["--tag", evil, "--x=0.5"]]
    assert (tmp_path / "x").is_dir() and not (tmp_path / "pwned").exists()


def test_timeout_and_missing_program_fail_cleanly(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        command=["{python}", str(TRAINER)],
        fixed={"epochs": 100, "epoch_s": 0.1},
        strategy={"sampler": "random", "n_trials": 1},
        resources={"backend": "local", "cpu_slots": 1, "timeout_min": 0.01, "kill_grace_s": 1},
    )
    assert kttui("run", str(spec), "--foreground", "--sessions-dir", str(store)).returncode == 0
    st = only_session(store).trial_statuses()[0]
    assert st["state"] == "fail" and st["reason"].startswith("timeout after")
    store2 = tmp_path / "store2"
    spec2 = write_spec(
        tmp_path / "s2.yaml",
        command=["no-such-program-kttui"],
        strategy={"sampler": "random", "n_trials": 2},
    )
    proc = kttui("run", str(spec2), "--foreground", "--sessions-dir", str(store2))
    assert proc.returncode == 0, proc.stderr
    sts = list_sessions(store2)[0].trial_statuses()
    assert [s["state"] for s in sts] == ["fail", "fail"]
    assert "no such program 'no-such-program-kttui'" in sts[0]["reason"]


def test_pykt_lines_buffered_and_unbuffered_reach_the_study(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        objective={"metric": "validauc"},
        metrics={"format": "pykt"},
        space={"flush": {"type": "bool"}},
        fixed={"epochs": 4, "mode": "pykt", "x": 0.8},
        strategy={"sampler": "grid"},
        env={"PYTHONUNBUFFERED": "0"},
    )
    assert kttui("run", str(spec), "--foreground", "--sessions-dir", str(store)).returncode == 0
    session = only_session(store)
    study = study_of(session)
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert sorted(t.intermediate_values) == [1, 2, 3, 4], t.params
        assert [m["epoch"] for m in metric_lines(session, t.number)] == [1, 2, 3, 4]


def test_regex_metrics_for_unmodified_scripts(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        objective={"metric": "val_loss", "direction": "minimize"},
        metrics={
            "format": "regex",
            "pattern": r"epoch=(?P<epoch>\d+) val_loss=(?P<val_loss>[0-9.]+)",
        },
        fixed={"epochs": 3, "mode": "regex"},
        strategy={"sampler": "random", "n_trials": 2},
    )
    assert kttui("run", str(spec), "--foreground", "--sessions-dir", str(store)).returncode == 0
    session = only_session(store)
    for st in session.trial_statuses():
        assert st["state"] == "complete"
        x = st["params"]["x"]
        assert st["value"] == pytest.approx(round(1 - x * (1 - 0.5**3), 4))


def test_kill_9_runner_then_resume_loses_and_repeats_nothing(tmp_path: Path, store: Path) -> None:
    """Trials outlive a crashed runner; the resumed runner reattaches and completes them."""
    spec = write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 40, "epoch_s": 0.1, "grandchild": "setsid"},
        strategy={"sampler": "random", "n_trials": 6, "seed": 3},
        resources={"backend": "local", "cpu_slots": 2, "retries": 0, "kill_grace_s": 1},
    )
    proc = kttui("run", str(spec), "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session = only_session(store)

    def two_done_two_running() -> bool:
        states = [s["state"] for s in session.trial_statuses()]
        return states.count("complete") >= 2 and states.count("running") == 2

    wait_for(two_done_two_running, timeout=60)
    runner_pid = int(session.runner()["pid"])  # type: ignore[index]
    os.kill(runner_pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(runner_pid), timeout=5)
    states = {s["number"]: s["state"] for s in session.trial_statuses()}
    running_before = [n for n, state in states.items() if state == "running"]
    trial_pids = [int(session.trial_status(n)["pid"]) for n in running_before]  # type: ignore[index]
    gc_files = [session.trial_dir(n) / "grandchild.pid" for n in running_before]
    wait_for(lambda: all(f.exists() and f.read_text() for f in gc_files), timeout=10)
    grandchildren = [int(f.read_text()) for f in gc_files]
    assert all(pid_alive(p) for p in trial_pids + grandchildren)  # the crash killed no trial
    assert session.state() == "crashed"
    before = {t.number: t for t in study_of(session).trials}
    complete_before = {n: t for n, t in before.items() if t.state.name == "COMPLETE"}
    # (files first, the study second: a trial may be complete in its file only)
    done_before = [n for n, state in states.items() if state == "complete"]
    assert len(running_before) == 2 and len(done_before) >= 2

    proc = kttui("resume", session.id, "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    reattached = {e["trial"] for e in session.events() if e["event"] == "reattach"}
    assert set(running_before) <= reattached
    # a trial the kill caught between its status file and its tell is taken back too
    assert all(
        n in done_before and n not in complete_before for n in reattached - set(running_before)
    )
    wait_for(lambda: session.state() == "finished", timeout=90)
    # the whole tree of each reattached trial is gone once it ends (no orphan)
    wait_for(lambda: not any(pid_alive(p) for p in trial_pids + grandchildren), timeout=10)

    after = {t.number: t for t in study_of(session).trials if not t.user_attrs.get("kttui:unused")}
    for n, t in complete_before.items():
        a = after[n]
        assert (a.params, a.value, a.intermediate_values) == (
            t.params,
            t.value,
            t.intermediate_values,
        )
    for n in running_before + done_before:  # reattached, not failed and retried
        t = after[n]
        lines = metric_lines(session, n)
        assert t.state.name == "COMPLETE" and len(lines) == 40
        assert t.intermediate_values == {m["epoch"]: m["score"] for m in lines}
        assert session.trial_status(n)["epochs"] == 40  # type: ignore[index]
    assert not [t for t in after.values() if t.user_attrs.get("kttui:retry_of") is not None]
    counted = [t for t in after.values() if t.user_attrs.get("kttui:counted")]
    assert len(counted) == 6 and len(after) == 6
    status = runner_status(store)
    assert status["counts"]["complete"] == 6 and status["counts"]["fail"] == 0


def test_sighup_to_the_launching_terminal_does_not_stop_the_sweep(
    tmp_path: Path, store: Path
) -> None:
    import pty
    import sys

    spec = write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 40, "epoch_s": 0.1},
        strategy={"sampler": "random", "n_trials": 1},
    )
    pid, master = pty.fork()
    if pid == 0:  # child: a shell on a terminal that launches the sweep, then waits
        os.execv(
            "/bin/sh",
            ["sh", "-c", f"{sys.executable} -m kttui run {spec} --sessions-dir {store}; sleep 60"],
        )
    try:
        session = wait_for(lambda: list_sessions(store) and list_sessions(store)[0], timeout=30)
        wait_for(lambda: (session.runner() or {}).get("state") == "running", timeout=30)
        runner_pid = int(session.runner()["pid"])
        wait_for(lambda: (session.trial_status(0) or {}).get("epoch", 0) >= 2, timeout=30)
        os.killpg(pid, signal.SIGHUP)  # the terminal hangs up on its session
        os.close(master)
        os.waitpid(pid, 0)
        epoch = int(session.trial_status(0)["epoch"])  # type: ignore[index]
        wait_for(lambda: int(session.trial_status(0)["epoch"]) >= epoch + 3, timeout=10)
        assert pid_alive(runner_pid) and int(session.runner()["pid"]) == runner_pid
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def test_control_commands_pause_resume_kill_stop(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 150, "epoch_s": 0.1},  # long enough for slow CLI calls on a busy box
        strategy={"sampler": "random", "n_trials": 20},
        resources={"backend": "local", "cpu_slots": 2, "kill_grace_s": 1},
    )
    assert kttui("run", str(spec), "--sessions-dir", str(store)).returncode == 0
    session = only_session(store)
    wait_for(lambda: len(runner_status(store)["running"]) == 2, timeout=30)
    sock = Path(session.runner()["socket"])  # type: ignore[index]
    assert oct(sock.stat().st_mode & 0o777) == "0o600"
    assert oct(session.path.stat().st_mode & 0o777) == "0o700"
    proc = kttui("pause", "--sessions-dir", str(store))
    assert proc.returncode == 0 and "paused" in proc.stdout
    proc = kttui("kill", session.id, "0", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: (session.trial_status(0) or {}).get("state") == "fail", timeout=10)
    assert session.trial_status(0)["reason"] == "killed by user"  # type: ignore[index]
    two_loop_turns(session, after=time.time())
    assert len(session.trial_numbers()) == 2  # paused: the freed slot stays empty
    assert kttui("resume-launch", "--sessions-dir", str(store)).returncode == 0
    # (trial 1 may have ended while paused on a slow machine: then both slots fill)
    wait_for(lambda: len(session.trial_numbers()) >= 3, timeout=10)
    assert kttui("stop", session.id, "--sessions-dir", str(store)).returncode == 0
    wait_for(lambda: session.state() == "stopped", timeout=60)
    assert all(s["state"] != "running" for s in session.trial_statuses())
    kinds = [e["event"] for e in session.events()]
    assert "launch" not in kinds[kinds.index("stop") :]  # nothing launched after stop
    assert kinds.count("launch") == len(session.trial_numbers())
    proc = kttui("pause", session.id, "--sessions-dir", str(store))
    assert proc.returncode == 1 and "not running" in proc.stderr and "Traceback" not in proc.stderr
    proc = kttui("kill", session.id, "99", "--sessions-dir", str(store))
    assert proc.returncode == 1
