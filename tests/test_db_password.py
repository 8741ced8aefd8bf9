"""The database password reaches the runner and nothing it starts.

A sweep on the real PostgreSQL server (tests/infra/pg_up.sh) whose trial dumps its
environment into its folder, and whose live environment (what ``ps eww`` shows) is
read from /proc while it runs.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import optuna
import pytest

from kttui.session import list_sessions
from kttui.storage import open_storage
from tests.conftest import kttui, wait_for, write_spec
from tests.test_postgres import pg  # noqa: F401  (the fixture)

DUMP = """
import json, os, sys, time
tdir = os.environ["KTTUI_TRIAL_DIR"]
with open(os.path.join(tdir, "env.json"), "w") as fh:
    json.dump(dict(os.environ), fh)
with open(os.path.join(tdir, "pid"), "w") as fh:
    fh.write(str(os.getpid()))
while not os.path.exists(os.path.join(tdir, "go")):
    time.sleep(0.05)
with open(os.environ["KTTUI_METRICS"], "a") as fh:
    fh.write(json.dumps({"epoch": 1, "score": 0.5}) + "\\n")
"""


@pytest.mark.parametrize("where", ["environment", "url"])
def test_trials_never_see_the_database_password(
    tmp_path: Path,
    pg: tuple[str, str],  # noqa: F811
    where: str,
) -> None:
    url, password = pg
    name = f"pw-{uuid.uuid4().hex[:8]}"
    prog = tmp_path / "dump.py"
    prog.write_text(DUMP)
    given = url if where == "environment" else url.replace("@", f":{password}@", 1)
    spec = write_spec(
        tmp_path / "s.yaml",
        name=name,
        storage=given,
        command=["{python}", str(prog)],
        fixed=None,
        strategy={"sampler": "random", "n_trials": 2, "seed": 0},
    )
    store = tmp_path / "store"
    env = {"KTTUI_DB_PASSWORD": password} if where == "environment" else {}
    proc = kttui("run", str(spec), "--sessions-dir", str(store), env=env)
    assert proc.returncode == 0, proc.stderr
    session = list_sessions(store)[0]
    for n in (0, 1):
        tdir = session.trial_dir(n)
        pid = wait_for(lambda tdir=tdir: (tdir / "pid").exists() and (tdir / "pid").read_text())
        live = Path(f"/proc/{pid}/environ").read_bytes()  # what `ps eww` prints
        assert password.encode() not in live
        assert b"KTTUI_TRIAL_DIR" in live  # (it is the trial's environment indeed)
        (tdir / "go").touch()
    wait_for(lambda: session.state() == "finished", timeout=60)
    dumped = [json.loads((session.trial_dir(n) / "env.json").read_text()) for n in (0, 1)]
    assert all("KTTUI_TRIAL_NUMBER" in d and "KTTUI_DB_PASSWORD" not in d for d in dumped)
    for path in session.path.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    # the runner had it: the trials' results are in the database
    study = optuna.load_study(
        study_name=name, storage=open_storage(url.replace("@", f":{password}@", 1))
    )
    assert [t.value for t in study.trials if t.state.name == "COMPLETE"] == [0.5, 0.5]
    storage = open_storage(url.replace("@", f":{password}@", 1))
    optuna.delete_study(study_name=name, storage=storage)
