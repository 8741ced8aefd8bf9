"""Two runners on one PostgreSQL study: every config evaluated exactly once between them.

Uses the server tests/infra/pg_up.sh starts (.ci/run starts it); skips with that
reason when it is not running.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from pathlib import Path

import optuna

from kttui.session import list_sessions
from kttui.storage import open_storage
from tests.conftest import kttui, wait_for, write_spec
from tests.test_postgres import pg  # noqa: F401  (the fixture)


def test_two_runners_share_a_20_point_grid_without_duplicates(
    tmp_path: Path,
    pg: tuple[str, str],  # noqa: F811
) -> None:
    url, password = pg
    name = f"shared-{uuid.uuid4().hex[:8]}"
    spec = write_spec(
        tmp_path / "s.yaml",
        name=name,
        storage=url,
        space={
            "x": {"type": "categorical", "choices": [0.1, 0.3, 0.5, 0.7, 0.9]},
            "y": {"type": "int", "low": 1, "high": 4},
        },
        fixed={"epochs": 3, "epoch_s": 0.05},
        strategy={"sampler": "grid", "seed": 0, "n_trials": None},
        resources={"backend": "local", "cpu_slots": 2},
    )
    env = {"KTTUI_DB_PASSWORD": password}
    stores = [tmp_path / "host-a", tmp_path / "host-b"]
    for store in stores:
        proc = kttui("run", str(spec), "--sessions-dir", str(store), env=env)
        assert proc.returncode == 0, proc.stderr
    sessions = [list_sessions(s)[0] for s in stores]
    wait_for(lambda: all(s.state() in ("finished", "stopped") for s in sessions), timeout=120)
    study = optuna.load_study(
        study_name=name, storage=open_storage(url.replace("@", f":{password}@", 1))
    )
    launched = [t for t in study.trials if t.user_attrs.get("kttui:counted")]
    keys = Counter((t.params["x"], t.params["y"]) for t in launched)
    assert len(launched) == 20 and set(keys.values()) == {1}, keys
    assert all(t.state.name == "COMPLETE" for t in launched)
    dirs = [n for s in sessions for n in s.trial_numbers()]
    assert sorted(dirs) == sorted(t.number for t in launched)
    assert all(s.trial_numbers() for s in sessions)  # both runners really worked
    for s in sessions:  # the password is nowhere in the session
        for path in (s.spec_path, s.runner_path, s.info_path, s.events_path, s.runner_log):
            assert password not in path.read_text()
    info = json.loads(sessions[0].info_path.read_text())
    assert info["storage"].startswith("postgresql")
    # the study, seen from the database alone, read-only
    listed = kttui("sessions", "--storage", url, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert password not in listed.stdout
    row = next(r for r in json.loads(listed.stdout) if r["study"] == name)
    assert row["complete"] >= 20 and row["direction"] == "maximize"
    from kttui.remote import snapshot

    os.environ["KTTUI_DB_PASSWORD"] = password
    try:
        remote = snapshot(url, name)
    finally:
        del os.environ["KTTUI_DB_PASSWORD"]
    assert remote.state() == "imported"
    assert len(remote.trial_statuses()) == 20  # kttui's bookkeeping trials are left out
    assert password not in remote.info_path.read_text()
