"""The session service the console and CLI share: incremental reads, sanitising, actions."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from kttui.safetext import sanitize
from kttui.service import ServiceError
from kttui.service.logs import LogFollower
from kttui.service.rows import TrialRow
from kttui.service.sessions import control, create_session, delete_session
from kttui.service.specs import SPEC_TEMPLATE, validate_spec_text
from kttui.service.stats import export_report, recommendations_markdown, summary_markdown
from kttui.service.store import StoreWatcher
from kttui.service.watch import SessionWatcher
from kttui.session import Session
from tests.conftest import kttui, wait_for, write_spec
from tests.demo_session import write_demo_session


def test_sanitize_removes_every_escape_and_control_sequence() -> None:
    nasty = (
        "\x1b[31mred\x1b[0m \x1b]0;title\x07ok \x1b]52;c;Zm9v\x1b\\ \x1bPdcs\x1b\\"
        "\x1b(B\x07bell\x00nul\x9bcsi \u202eevil\tend"
    )
    clean = sanitize(nasty)
    assert clean == "red ok  bellnulcsi evil    end"
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in clean)
    assert sanitize("10%\r50%\r100%\r") == "100%"


def test_watcher_reads_incrementally(tmp_path: Path) -> None:
    session = write_demo_session(tmp_path, trials=12, epochs=5, running=(11,))
    watcher = SessionWatcher(session)
    first = watcher.poll()
    assert first.initial and len(first.rows) == 12
    assert first.runner is not None and first.runner.state == "finished"
    assert 11 in first.points  # the running trial's metrics are tailed from the start
    assert not watcher.poll()  # nothing changed: nothing reported
    # a new epoch of the running trial shows before its status.json changes
    with open(session.trial_dir(11) / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"epoch": 9, "val_auc": 0.9}) + "\n")
    delta = watcher.poll()
    assert [r.number for r in delta.rows] == [11]
    assert delta.rows[0].epoch == 9 and delta.rows[0].current == 0.9
    assert delta.points == {11: [(9, 0.9)]}
    # the trial finishes: one status rewrite, reported once
    status = json.loads((session.trial_dir(11) / "status.json").read_text())
    status.update(state="complete", value=0.9, duration_s=12.0)
    (session.trial_dir(11) / "status.json").write_text(json.dumps(status))
    delta = watcher.poll()
    assert [(r.number, r.state, r.value) for r in delta.rows] == [(11, "complete", 0.9)]
    assert not watcher.poll()
    # a new trial directory appears
    tdir = session.trial_dir(12)
    tdir.mkdir()
    (tdir / "status.json").write_text(json.dumps({"number": 12, "state": "running"}))
    watcher._rescan_at = 0  # the directory mtime may not have moved within its resolution
    assert [r.number for r in watcher.poll().rows] == [12]
    watcher.close()


def test_two_watchers_of_one_session_agree(tmp_path: Path) -> None:
    session = write_demo_session(tmp_path, trials=8, epochs=3)
    a, b = SessionWatcher(session), SessionWatcher(session)
    a.poll()
    b.poll()
    assert a.rows == b.rows
    assert a.best() == b.best()


def test_store_watcher_summarises_sessions(tmp_path: Path) -> None:
    write_demo_session(tmp_path, name="one", trials=10, epochs=3)
    write_demo_session(tmp_path, name="two", trials=5, epochs=3, stamp="20250116-093000")
    rows = StoreWatcher(tmp_path).poll()
    assert [r.name for r in rows] == ["one", "two"]
    one = rows[0]
    assert one.trials == 10 and one.done + one.failed + one.pruned == 10
    assert one.state == "finished" and not one.alive and one.best is not None


def test_log_follower_tails_and_sanitises(tmp_path: Path) -> None:
    session = write_demo_session(tmp_path, trials=2, epochs=3, running=(1,))
    out = session.trial_dir(1) / "stdout.log"
    follower = LogFollower(session, 1)
    backlog = follower.read()
    assert [line.stream for line in backlog] == ["out"]
    assert backlog[0].text.startswith("epoch 1 val_auc")
    with open(out, "a") as fh:
        fh.write("\x1b[2Jhello\x1b[0m\n")
    with open(session.trial_dir(1) / "stderr.log", "a") as fh:
        fh.write("oops\n")
    lines = follower.read()
    assert [(line.stream, line.text) for line in lines] == [("out", "hello"), ("err", "oops")]
    follower.close()


def test_recommendations_markdown_without_a_session_dir() -> None:
    rows = [
        TrialRow(n, "complete", (("a", n), ("b", "x" if n % 2 else "y")), value=float(n))
        for n in range(10)
    ]
    rows.append(TrialRow(10, "fail", (("a", 1),), reason="exit code 1"))
    md = recommendations_markdown(Session(Path("/nonexistent")), rows, maximize=True, metric="m")
    assert "trial 9" in md and "exit code 1" in md


def test_a_nan_or_inf_trial_is_never_the_best_config() -> None:
    nowhere = Session(Path("/nonexistent"))
    rows = [
        TrialRow(0, "complete", (("a", 0),), value=float("nan")),
        TrialRow(1, "complete", (("a", 1),), value=float("-inf")),
        TrialRow(2, "complete", (("a", 2),), value=0.5),
        TrialRow(3, "complete", (("a", 3),), value=0.0),
        TrialRow(4, "complete", (("a", 4),), value=0.0),  # a tie keeps the earlier trial
    ]
    md = recommendations_markdown(nowhere, rows, maximize=False, metric="m")
    assert "Best config: trial 3, m = 0" in md
    only_nan = [TrialRow(n, "complete", value=float("nan")) for n in range(2)]
    md = recommendations_markdown(nowhere, only_nan, maximize=True, metric="m")
    assert "Best config" not in md and "No completed trial with a finite value yet." in md


def test_export_report_writes_markdown(tmp_path: Path) -> None:
    session = write_demo_session(tmp_path, trials=20, epochs=4)
    path = export_report(session)
    assert path == session.path / "report.md"
    text = path.read_text()
    assert text.startswith("# ") and "val_auc" in text
    summary = summary_markdown(session)
    assert summary.startswith(f"# Sweep report: {session.id}")
    assert "Findings" in summary and "Best config" in summary


def test_validate_and_template() -> None:
    assert validate_spec_text(SPEC_TEMPLATE) == []
    assert "low: 0.0" in SPEC_TEMPLATE
    line = SPEC_TEMPLATE.splitlines().index(
        next(x for x in SPEC_TEMPLATE.splitlines() if "low: 0.0" in x)
    )
    issues = validate_spec_text(SPEC_TEMPLATE.replace("low: 0.0", "lo: 0.0", 1))
    assert {i.line for i in issues} == {line + 1}
    assert any("unknown key 'lo'" in str(i) for i in issues)


def test_delete_refuses_a_live_session_and_removes_a_finished_one(
    store: Path, tmp_path: Path
) -> None:
    spec = write_spec(tmp_path / "s.yaml", fixed={"epochs": 200, "epoch_s": 0.05})
    assert kttui("run", str(spec), "--sessions-dir", str(store)).returncode == 0
    live = Session.open(store, None)
    with pytest.raises(ServiceError, match="runner is alive"):
        delete_session(live)
    assert live.path.is_dir()
    control(live, "shutdown")
    wait_for(lambda: not live.runner_alive(), timeout=30)
    delete_session(live)
    assert not live.path.exists()


def test_create_session_matches_kttui_run(store: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "s.yaml")
    session = create_session(store, spec.read_text(), spec, launch_dir=tmp_path)
    info = session.info()
    assert info["source"] == str(spec.resolve())
    assert info["launch_dir"] == str(tmp_path.resolve())
    assert info["spec_dir"] == str(spec.resolve().parent)
    assert session.spec_path.read_text() == spec.read_text()
    with pytest.raises(ServiceError, match="problem"):
        create_session(store, "name: x\n", spec)


def test_service_never_imports_textual() -> None:
    import pkgutil
    import subprocess

    import kttui.service

    names = [m.name for m in pkgutil.iter_modules(kttui.service.__path__, "kttui.service.")]
    assert len(names) >= 8, names
    code = f"import sys, {', '.join(names)}; print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_recommendations_pane_uses_the_reports_findings(tmp_path: Path, store: Path) -> None:
    from kttui.session import list_sessions
    from tests.conftest import kttui, write_spec

    spec = write_spec(
        tmp_path / "s.yaml",
        space={"x": {"type": "float", "low": 0.0, "high": 1.0}, "flag": {"type": "bool"}},
        fixed={"epochs": 2},
        strategy={"sampler": "random", "n_trials": 12, "seed": 0},
    )
    assert kttui("run", str(spec), "--foreground", "--sessions-dir", str(store)).returncode == 0
    session = list_sessions(store)[0]
    watcher = SessionWatcher(session)
    watcher.poll()
    text = recommendations_markdown(
        session, list(watcher.rows.values()), maximize=True, metric="score"
    )
    watcher.close()
    assert "## Findings" in text and "## Elite analysis" in text  # kttui.report's sections
    assert "Best config" in text
