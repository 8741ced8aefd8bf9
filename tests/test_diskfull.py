"""A full disk, for real: the session store on a 32 MiB tmpfs that the test fills up.

Needs root (mount); skips loudly (or fails under $KTTUI_REQUIRE_SERVERS=1) only when
no tmpfs can be mounted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from kttui import pending
from kttui.atomicfile import write_json_atomic
from kttui.diskfull import full_cause, is_disk_full
from kttui.service.watch import SessionWatcher
from kttui.session import Session, list_sessions
from kttui.storage import open_storage
from tests.conftest import kttui, missing, pid_alive, wait_for, write_spec

pytestmark = pytest.mark.timeout(180)

# One metric line, then it waits for a go file (outside the tmpfs), one more line, exit 0.
GATE = """
import json, os, sys, time
with open(os.environ["KTTUI_METRICS"], "a") as fh:
    fh.write(json.dumps({"epoch": 1, "score": 0.1}) + "\\n")
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
with open(os.environ["KTTUI_METRICS"], "a") as fh:
    fh.write(json.dumps({"epoch": 2, "score": 0.5}) + "\\n")
"""


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        missing(f"cannot mount a tmpfs to fill up (needs root): {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        for session in list_sessions(mnt / "store"):  # nothing may keep the mount busy
            info = session.runner() or {}
            if session.runner_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(info["pid"]), 9)
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt: Path) -> Path:
    """Write zeros until the filesystem says ENOSPC."""
    filler = mnt / "filler"
    with open(filler, "wb", buffering=0) as fh:
        chunk = b"\0" * (1 << 20)
        try:
            while True:
                fh.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    small = b"\0" * 4096
    for i in range(1000):  # the last partial pages too
        try:
            with open(mnt / f"crumb{i}", "wb") as fh:
                fh.write(small)
        except OSError:
            break
    return filler


def free_up(mnt: Path) -> None:
    for path in mnt.iterdir():
        if path.name == "filler" or path.name.startswith("crumb"):
            path.unlink()


@pytest.mark.parametrize("notice", ["by free space", "by a failed write"])
def test_a_full_disk_pauses_launching_loses_nothing_and_resumes_by_itself(
    tmp_path: Path, tmpfs: Path, notice: str
) -> None:
    gate, go = tmp_path / "gate.py", tmp_path / "go"
    gate.write_text(GATE)
    spec = write_spec(
        tmp_path / "s.yaml",
        command=["{python}", str(gate), str(go)],
        fixed=None,
        strategy={"sampler": "random", "n_trials": 6, "seed": 0},
        resources={"backend": "local", "cpu_slots": 2, "kill_grace_s": 1},
    )
    store = tmpfs / "store"
    # "by a failed write": no low-water mark, the runner learns it from ENOSPC itself
    env = {"KTTUI_DISK_LOW_BYTES": "0"} if notice == "by a failed write" else {}
    assert kttui("run", str(spec), "--sessions-dir", str(store), env=env).returncode == 0
    session = list_sessions(store)[0]
    wait_for(lambda: all((session.trial_status(n) or {}).get("epoch") == 1 for n in (0, 1)))
    pids = [int(session.trial_status(n)["pid"]) for n in (0, 1)]  # type: ignore[index]

    filler = fill(tmpfs)
    if notice == "by free space":
        wait_for(lambda: "disk full" in str((session.runner() or {}).get("reason")), timeout=10)
        assert all(pid_alive(p) for p in pids)  # the running trials are kept
    go.touch()  # both trials finish while the disk is still full
    wait_for(lambda: "disk full" in str((session.runner() or {}).get("reason")), timeout=10)
    assert session.runner()["state"] == "paused"  # type: ignore[index]
    status = kttui("status", session.id, "--sessions-dir", str(store))
    assert "disk full" in status.stdout, status.stdout
    header = SessionWatcher(session, follow_metrics=False).poll().runner  # the console's view
    assert header is not None and header.state == "paused" and "disk full" in header.reason
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=10)
    assert session.runner_alive() and session.state() == "paused"
    assert filler.exists()

    free_up(tmpfs)  # nobody tells the runner: it has to notice
    wait_for(lambda: session.state() == "finished", timeout=60)
    study = optuna.load_study(study_name="t", storage=open_storage(f"sqlite:///{session.db_path}"))
    launched = [t for t in study.trials if t.user_attrs.get("kttui:counted")]
    why = [(t.number, t.user_attrs.get("kttui:reason")) for t in launched]
    assert [t.state.name for t in launched] == ["COMPLETE"] * 6, why
    assert [t.value for t in launched] == [0.5] * 6
    assert [s["state"] for s in session.trial_statuses()] == ["complete"] * 6
    assert session.trial_numbers() == [t.number for t in launched]
    events = [e["event"] for e in session.events()]
    assert events.count("disk_full") == 1 and events.count("disk_ok") == 1
    assert events.count("finish") == 6 and "fail" not in events
    assert session.runner()["reason"] == "all 6 trials done"  # type: ignore[index]


def test_the_errors_of_a_full_disk_are_recognised_and_events_wait(tmpfs: Path) -> None:
    """SQLite's 'database or disk is full' behind Optuna's misleading message, and ENOSPC."""
    storage = open_storage(f"sqlite:///{tmpfs / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    (tmpfs / "trials" / "0").mkdir(parents=True)
    session = Session(tmpfs)
    session.append_event("before")
    fill(tmpfs)
    with pytest.raises(Exception) as info:
        for i in range(200):  # until the database's free pages are used up too
            trial.set_user_attr(f"k{i}", "v" * 4000)
    assert full_cause(info.value) == "database or disk is full", repr(info.value)
    assert not is_disk_full(ValueError("exceeding max length"))
    pad = "x" * 6000  # more than the file's last page holds: it needs new space
    session.append_event("during", n=1, pad=pad)  # no exception: it waits in memory
    session.append_event("during", n=2, pad=pad)
    assert [e["event"] for e in session.events()] == ["before"]
    with pytest.raises(OSError):
        session.write_trial_status(0, {"state": "complete", "pad": pad})
    assert pending.waiting() == 2 and session.trial_status(0) is None
    free_up(tmpfs)
    assert pending.flush(write_json_atomic) and pending.waiting() == 0
    assert session.trial_status(0) == {"state": "complete", "pad": pad}
    session.append_event("after")
    assert [e["event"] for e in session.events()] == ["before", "during", "during", "after"]
    with pytest.raises(OSError):  # other errors still raise
        Session(tmpfs / "gone").append_event("x")
