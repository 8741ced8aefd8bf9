"""`kttui demo` end to end on a tiny configuration: real torch trials, real sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kttui.session import list_sessions
from tests.conftest import kttui

pytest.importorskip("torch")


def test_tiny_demo_beats_the_baseline_and_stays_below_the_oracle(tmp_path: Path) -> None:
    store = tmp_path / "sessions"
    proc = kttui(
        "demo",
        "--no-tui",
        "--trials",
        "4",
        "--students",
        "400",
        "--sessions-dir",
        str(store),
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "specs" / "kt-demo.yaml").is_file()  # written because absent
    assert "oracle AUC" in proc.stdout and "best trial" in proc.stdout
    session = list_sessions(store)[0]
    refs = session.info()["demo"]
    statuses = session.trial_statuses()
    assert len(statuses) == 4
    done = [s for s in statuses if s["state"] == "complete"]
    assert done
    best = max(done, key=lambda s: s["value"])
    results = json.loads((session.trial_dir(best["number"]) / "eval_results.json").read_text())
    assert results["test_auc"] > refs["baseline_auc"] + 0.03
    assert results["test_auc"] < refs["oracle_auc"]
    assert (session.trial_dir(best["number"]) / "model_best.pt").is_file()
    # the data was generated once, in the store's cache, and shared by every trial
    assert len(list((store / ".cache" / "kt").glob("*.npz"))) == 1


def test_demo_with_a_bad_spec_gives_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nobjective: {metric: val_auc}\ncommand: [python]\nspace: {}\n")
    proc = kttui("demo", "--no-tui", "--spec", str(bad), "--sessions-dir", str(tmp_path / "s"))
    assert proc.returncode == 2
    assert f"{bad}:4: space:" in proc.stderr and "Traceback" not in proc.stderr
