"""A restarted runner skips the start-up work whose answer is known (issue 12, chaos wall).

Optuna's schema check of the session's own SQLite study is done once per Optuna
version and schema revision; it is done again whenever either differs, so an
incompatible study still fails with Optuna's own message.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import optuna
import pytest

from kttui.daemon import spawn_runner
from kttui.storage import open_storage
from tests.conftest import kttui, pid_alive, wait_for, write_spec
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


def open_files(pid: int) -> dict[int, str]:
    """A process's descriptors and what they point at (one may close while we look)."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
    return out


def test_the_command_forks_a_runner_that_keeps_nothing_of_its_caller(
    tmp_path: Path, store: Path
) -> None:
    """The runner is the `kttui run` process forked (no second interpreter start), yet
    detached as a fresh one was: its own session, stdio on the log, no descriptor its
    caller passed down, and no package from the caller's working directory."""
    spec = write_spec(tmp_path / "s.yaml", fixed={"epochs": 200, "epoch_s": 0.1})
    shadow = tmp_path / "cwd" / "optuna"  # `python -m` puts the working directory first
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise SystemExit('the caller directory shadowed optuna')")
    keep_r, keep_w = os.pipe()  # inherited by the command (pass_fds), never by its runner
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "kttui", "run", str(spec), "--sessions-dir", str(store)],
            capture_output=True,  # pipes read to EOF: the runner must let go of them
            text=True,
            timeout=120,
            cwd=shadow.parent,
            pass_fds=(keep_w,),
        )
        assert proc.returncode == 0, proc.stderr
        os.close(keep_w)
        keep_w = -1
        session = only_session(store)
        pid = int((session.runner() or {})["pid"])
        assert pid_alive(pid) and session.state() == "running"
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"kttui.daemon" not in argv  # forked from the command, not a fresh python
        assert os.getsid(pid) == pid  # a session of its own: no terminal's signals reach it
        files = open_files(pid)
        assert files[0] == os.devnull
        assert files[1] == files[2] == str(session.runner_log)
        assert str(session.path / "runner.lock") in files.values()
        # nobody but us held the pipe's write end: EOF (a holder: BlockingIOError)
        os.set_blocking(keep_r, False)
        assert os.read(keep_r, 1) == b""
        wait_for(lambda: any(s.get("state") == "running" for s in session.trial_statuses()))
        assert "shadowed" not in session.runner_log.read_text()
    finally:
        os.close(keep_r)
        if keep_w >= 0:
            os.close(keep_w)


def test_a_starter_with_threads_gets_a_fresh_interpreter(tmp_path: Path, store: Path) -> None:
    """Forking a threaded process (the console) is unsafe: it starts ``python -m kttui.daemon``."""
    spec = write_spec(tmp_path / "s.yaml", fixed={"epochs": 200, "epoch_s": 0.1})
    proc = kttui("run", str(spec), "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session = only_session(store)
    first = int((session.runner() or {})["pid"])
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: session.state() == "crashed", timeout=10)
    hold = threading.Event()
    other = threading.Thread(target=hold.wait, daemon=True)
    other.start()
    try:
        pid = spawn_runner(session, resume=True, fork=True)
    finally:
        hold.set()
        other.join()
    assert pid != os.getpid() and pid != first
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"kttui.daemon" in argv and b"--resume" in argv
    assert session.state() == "running"
