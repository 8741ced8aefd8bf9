"""A restarted runner skips the start-up work whose answer is known (issue 12, chaos wall).

Optuna's schema check of the session's own SQLite study is done once per Optuna
version and schema revision; it is done again whenever either differs, so an
incompatible study still fails with Optuna's own message.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import optuna
import pytest

from kttui.storage import open_storage
from tests.conftest import kttui, write_spec
from tests.runner_helpers import only_session


def revision_of(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_the_schema_check_is_skipped_only_while_its_record_matches(tmp_path: Path) -> None:
    db, record = tmp_path / "study.db", tmp_path / "study-schema.json"
    url = f"sqlite:///{db}"
    first = open_storage(url, record)
    assert first.skip_compatibility_check is False  # a new file: checked, then recorded
    optuna.create_study(storage=first, study_name="s").add_trial(
        optuna.trial.create_trial(value=1.0)
    )
    first.engine.dispose()
    assert json.loads(record.read_text()) == {
        "optuna": optuna.__version__,
        "revision": revision_of(db),
    }

    known = open_storage(url, record)
    assert known.skip_compatibility_check is True
    assert [t.value for t in optuna.load_study(study_name="s", storage=known).trials] == [1.0]
    known.engine.dispose()

    # another Optuna checked it: checked again, and the record is this Optuna's
    record.write_text(json.dumps({"optuna": "0.0.1", "revision": revision_of(db)}))
    again = open_storage(url, record)
    assert again.skip_compatibility_check is False
    assert json.loads(record.read_text())["optuna"] == optuna.__version__
    again.engine.dispose()

    # the file's schema changed under the record (another Optuna upgraded it): Optuna's error
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'v99.0.0.z'")
    with pytest.raises(RuntimeError, match="compatible"):
        open_storage(url, record)

    # a file of anyone's (no record named): always checked, nothing written
    other = tmp_path / "other.db"
    storage = open_storage(f"sqlite:///{other}")
    assert storage.skip_compatibility_check is False
    assert list(tmp_path.glob("*.json")) == [record]


def test_a_corrupt_record_means_a_full_check(tmp_path: Path) -> None:
    db, record = tmp_path / "study.db", tmp_path / "study-schema.json"
    open_storage(f"sqlite:///{db}", record).engine.dispose()
    for text in ("", "{", "[1]", '{"optuna": 5}', "\x00\xff"):
        record.write_text(text, errors="surrogateescape")
        storage = open_storage(f"sqlite:///{db}", record)
        assert storage.skip_compatibility_check is False, text
        storage.engine.dispose()
        assert json.loads(record.read_text())["revision"] == revision_of(db)


def test_a_runner_records_the_check_of_its_session_study(tmp_path: Path, store: Path) -> None:
    spec = write_spec(tmp_path / "s.yaml", strategy={"sampler": "random", "n_trials": 2})
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session = only_session(store)
    assert json.loads(session.schema_path.read_text()) == {
        "optuna": optuna.__version__,
        "revision": revision_of(session.db_path),
    }
    # the resumed runner opens the study without the check and finds its trials
    proc = kttui("resume", session.id, "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    assert "2 complete" in proc.stdout, proc.stdout
