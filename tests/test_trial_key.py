"""Trial processes are named by a per-session key, so one store's cleanup never kills another's.

Session ids are second-resolution stamps: the same spec started in two stores in the
same second gives two sessions with one id. Their trials used to share the token
``<id>:<n>``, and a resume in one store (whose recovery cleans up stale trials by
token) killed the other store's running trials.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from kttui.backends.base import BackendConfig, TrialRequest
from kttui.backends.local import LocalBackend

from kttui.session import Session
from kttui.specload import load_spec

SPEC = Path(__file__).resolve().parents[1] / "specs" / "quickstart.yaml"


def twin_sessions(tmp_path: Path) -> tuple[Session, Session]:
    """Two sessions in two stores with the same id (as if created in the same second)."""
    loaded = load_spec(SPEC)
    a = Session.create(tmp_path / "store-a", loaded.spec, SPEC.read_text())
    b = Session.create(tmp_path / "store-b", loaded.spec, SPEC.read_text())
    if b.id != a.id:
        twin = b.path.with_name(a.id)
        b.path.rename(twin)
        info = json.loads((twin / "session.json").read_text())
        info["id"] = a.id
        info["trial_key"] = a.id + info["trial_key"].removeprefix(b.id)
        (twin / "session.json").write_text(json.dumps(info))
        b = Session(twin)
    assert a.id == b.id
    return a, b


def sleeper(session: Session, number: int) -> TrialRequest:
    tdir = session.trial_dir(number)
    tdir.mkdir(parents=True, exist_ok=True)
    return TrialRequest(
        number=number,
        argv=[sys.executable, "-c", "import time; time.sleep(120)"],
        env=dict(os.environ),
        cwd=session.path,
        trial_dir=tdir,
        stdout=tdir / "stdout.log",
        stderr=tdir / "stderr.log",
        token=f"{session.trial_key}:{number}",
    )


def test_sessions_with_one_id_have_different_trial_keys(tmp_path: Path) -> None:
    a, b = twin_sessions(tmp_path)
    assert a.trial_key != b.trial_key
    assert a.trial_key.startswith(a.id) and b.trial_key.startswith(b.id)
    assert Session(a.path).trial_key == a.trial_key  # read back from session.json


def test_a_session_made_before_keys_keeps_its_id_as_key(tmp_path: Path) -> None:
    a, _ = twin_sessions(tmp_path)
    info = json.loads(a.info_path.read_text())
    del info["trial_key"]
    old = tmp_path / "old" / a.id
    old.parent.mkdir()
    a.path.rename(old)
    (old / "session.json").write_text(json.dumps(info))
    # its running trials carry `<id>:<n>`: recovery and kill must still find them
    assert Session(old).trial_key == a.id


def test_cleanup_of_one_store_leaves_the_twin_sessions_trials_alone(tmp_path: Path) -> None:
    a, b = twin_sessions(tmp_path)
    backend = LocalBackend(BackendConfig(cpu_slots=2))
    mine = backend.submit(sleeper(a, 0))
    theirs = backend.submit(sleeper(b, 0))
    try:
        assert backend.cleanup(a.trial_key, [0]) >= 1
        deadline = time.monotonic() + 60
        while backend.poll([mine])[mine.job_id].state != "done":
            assert time.monotonic() < deadline, "the session's own trial was not killed"
            time.sleep(0.05)
        assert backend.poll([theirs])[theirs.job_id].state == "running"
        assert backend.cleanup(a.trial_key) == 0  # nothing of session a is left
        assert backend.poll([theirs])[theirs.job_id].state == "running"
    finally:
        backend.cleanup(b.trial_key)
        backend.cleanup(a.trial_key)
