"""A sweep through the real one-node SLURM cluster (tests/infra/slurm_up.sh, started by .ci/run).

The session lives under /var/tmp (the cluster's node is this machine; /tmp is
flagged as not shared).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from kttui.session import Session, list_sessions
from tests.conftest import kttui, pid_alive, wait_for, write_spec
from tests.test_slurm_backend import cluster  # noqa: F401  (the fixture)


@pytest.fixture
def shared(cluster: dict[str, Any]) -> Iterator[Path]:  # noqa: F811
    path = Path(tempfile.mkdtemp(prefix="kttui-slurm-", dir="/var/tmp"))
    yield path
    subprocess.run(["scancel", "--name", "kttui-"], capture_output=True)
    for s in list_sessions(path / "store"):
        info = s.runner() or {}
        if s.runner_alive():
            os.kill(int(info["pid"]), signal.SIGKILL)
        subprocess.run(
            ["scancel", "-n", ",".join(f"kttui-{s.id}-{n}" for n in range(64))], capture_output=True
        )
    shutil.rmtree(path, ignore_errors=True)


def test_sweep_through_slurm_with_kill_and_resume(shared: Path) -> None:
    record = shared / "record.jsonl"
    spec = write_spec(
        shared / "s.yaml",
        space={
            "x": {
                "type": "categorical",
                "choices": [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.3, 0.1],
            }
        },
        fixed={"epoch_s": 0.3, "record": str(record), "exit_code": 3},
        derived={"epochs": "30 if x == 0.1 else 6", "fail_at": "3 if x == 0.85 else 0"},
        strategy={
            "sampler": "list",
            "n_trials": None,
            "configs": [
                {"x": v} for v in (0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.3, 0.55, 0.5, 0.1, 0.45)
            ],
        },
        pruner={"type": "median", "min_epochs": 2, "n_startup_trials": 3},
        resources={
            "backend": "slurm",
            "gpus": 4,
            "gpus_per_trial": 1,
            "kill_grace_s": 1,
            "slurm": {"poll_s": 0.3},
        },
    )
    store = shared / "store"
    proc = kttui("run", str(spec), "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session: Session = list_sessions(store)[0]
    # metrics stream live from jobs while they run, with the node and GRES SLURM gave them
    wait_for(
        lambda: any(
            s.get("state") == "running" and s.get("epoch", 0) >= 2 for s in session.trial_statuses()
        ),
        timeout=60,
    )
    running = wait_for(
        lambda: [s for s in session.trial_statuses() if s["state"] == "running" and s.get("node")],
        timeout=30,
    )
    assert {(s["gres"], s["reason"]) for s in running} == {("gpu:1", "")}
    assert all(s["job_id"] for s in running)
    wait_for(
        lambda: sum(s["state"] == "complete" for s in session.trial_statuses()) >= 3, timeout=90
    )
    runner_pid = int((session.runner() or {})["pid"])
    os.kill(runner_pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(runner_pid), timeout=5)
    proc = kttui("resume", session.id, "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: session.state() == "finished", timeout=180)
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{session.db_path}")
    launched = [t for t in study.trials if t.user_attrs.get("kttui:counted")]
    assert len(launched) == 12  # nothing lost, nothing run twice
    assert len({t.params["x"] for t in launched}) == 12
    by_x = {s["params"]["x"]: s for s in session.trial_statuses()}
    assert by_x[0.85]["state"] == "fail" and by_x[0.85]["exit_code"] == 3
    assert by_x[0.1]["state"] == "pruned" and by_x[0.1]["epochs"] < 30
    states = [s["state"] for s in session.trial_statuses()]
    assert len(states) == 12 and states.count("fail") == 1 and states.count("running") == 0
    assert states.count("complete") >= 3  # the first configs, before pruning has a median
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    assert all(r["cuda"] in {"0", "1", "2", "3"} for r in runs)  # one fake GPU each
    events = [e["event"] for e in session.events()]
    assert "reattach" in events  # the resumed runner took over running jobs
