"""Reports name trials as their users do (issue 13 §5): an imported trial's own id
(the ``--id`` column) stands beside ``#N`` wherever a table or line names a trial."""

from __future__ import annotations

from pathlib import Path

from kttui.analysis.load import load_session
from kttui.report import render_report
from kttui.session import list_sessions
from tests.conftest import kttui

ROWS = [
    ("253021", 0.001, 64, 0.731, "complete"),
    ("253022", 0.003, 128, 0.752, "complete"),
    ("253023", 0.010, 64, 0.711, "complete"),
    ("253024", 0.0003, 256, 0.744, "complete"),
    ("253025", 0.030, 128, "", "fail"),
    ("253026", 0.002, 64, "", "incomplete"),
]


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}")[1].split("\n## ")[0]


def test_imported_ids_stand_beside_trial_numbers(tmp_path: Path, store: Path) -> None:
    csv = tmp_path / "runs.csv"
    lines = ["exp_id,lr,d_model,test_auc,state"]
    lines += [",".join(map(str, r)) for r in ROWS]
    csv.write_text("\n".join(lines) + "\n")
    proc = kttui(
        "import", "csv", str(csv), "--objective", "test_auc", "--id", "exp_id",
        "--sessions-dir", str(store),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (session,) = list_sessions(store)
    table = load_session(session)
    assert "exp_id" not in table.params and "label" not in table.params
    text = render_report(table, baseline=0)  # compare with trial #0, the user's 253021
    assert "**Best:** 0.752 (trial #1 (253022))" in text
    assert "| Best | 0.752 (trial #1 (253022)) |" in _section(text, "Summary")
    top = _section(text, "Top")
    for number, (label, *_rest) in enumerate(ROWS[:4]):
        assert f"#{number} ({label})" in top
    base = _section(text, "Baseline comparison")
    assert "Baseline (trial #0 (253021)) vs the best trial #1 (253022)" in base
    failed = _section(text, "Failed and incomplete trials")
    assert "#4 (253025)" in failed and "#5 (253026)" in failed
    assert "trial **#1 (253022)**" in _section(text, "Convergence and efficiency")


def test_trials_without_an_id_keep_plain_numbers(tmp_path: Path, store: Path) -> None:
    csv = tmp_path / "runs.csv"
    csv.write_text("lr,test_auc\n0.1,0.7\n0.2,0.72\n0.3,0.71\n")
    proc = kttui("import", "csv", str(csv), "--objective", "test_auc", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    (session,) = list_sessions(store)
    text = render_report(load_session(session))
    assert "(trial #1)" in text and "| #1 |" in _section(text, "Top")
