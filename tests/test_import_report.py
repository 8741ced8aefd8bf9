"""Importers (CSV, Optuna, experiment folders) and `kttui report` on real sessions."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from kttui.analysis.load import load_session
from kttui.report.sections import SECTIONS  # every section a report must have
from kttui.session import list_sessions
from kttui.specload import load_spec
from tests.conftest import ROOT, kttui, write_spec

SEED000 = ROOT / "tests" / "fixtures" / "seed000_appendix.csv"


def test_csv_import_of_seed000_and_its_report(tmp_path: Path) -> None:
    store = tmp_path / "s"
    proc = kttui(
        "import",
        "csv",
        str(SEED000),
        "--objective",
        "test_auc",
        "--id",
        "exp_id",
        "--baseline",
        "0.7181",
        "--sessions-dir",
        str(store),
    )
    assert proc.returncode == 0, proc.stderr
    assert "26 trials (24 complete, 2 incomplete)" in proc.stdout
    session = list_sessions(store)[0]
    assert session.state() == "imported"
    table = load_session(session)
    assert len(table.df) == 26 and "rank" not in table.params and "exp_id" not in table.params
    assert set(table.params) == {
        "learning_rate",
        "d_model",
        "d_ff",
        "dropout",
        "num_encoder_blocks",
    }
    done = table.df[table.df.state == "complete"]
    assert int((done.value > 0.7181).sum()) == 14  # seed 000 claims 15/26
    out = tmp_path / "r.md"
    assert kttui("report", session.id, "-o", str(out), "--sessions-dir", str(store)).returncode == 0
    text = out.read_text()
    assert "learning_rate was never varied" in text
    for section in ("## Summary", "## Parameter impact", "## Coverage and gaps", "## Duplicates"):
        assert section in text
    resume = kttui("resume", session.id, "--sessions-dir", str(store))
    assert resume.returncode == 1 and "imported" in resume.stderr


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", [], "empty file"),
        ("a,b,auc\n", [], "no rows below the header"),
        ("a,b,auc\n1,2,0.5\n", ["--objective", "acc"], "no column 'acc'"),
        ("a,b,auc\n1,x,0.5\n2,y,high\n", [], ":3: column 'auc': 'high' is not a number"),
        ("a,b,auc\n1,x,0.5\n2,3,0.6\n4,5,0.7\n", [], ":2: column 'b' mixes numbers and text"),
        ("a,auc\n1,0.5\n2,0.6,9\n", [], ":3: more cells than header columns"),
        ("a,auc\n1,0.5\n", ["--baseline", "nope"], "neither a row id nor a number"),
    ],
)
def test_bad_csv_one_line_error_and_nothing_imported(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    store = tmp_path / "s"
    objective = [] if "--objective" in args else ["--objective", "auc"]
    proc = kttui("import", "csv", str(path), *objective, *args, "--sessions-dir", str(store))
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr and str(path) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not store.exists() or not any(store.iterdir())


def test_optuna_import_keeps_states_curves_and_space(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    study = optuna.create_study(study_name="ext", storage=url, direction="minimize")
    for i in range(6):
        t = study.ask()
        x = t.suggest_float("x", 1e-3, 1.0, log=True)
        k = t.suggest_categorical("k", ["a", "b"])
        for step in range(3):
            t.report(x + step, step)
        t.set_user_attr("test_loss", x * 2)
        if i == 5:
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(t, x + (0.1 if k == "a" else 0))
    optuna.create_study(study_name="other", storage=url)
    store = tmp_path / "s"
    two = kttui("import", "optuna", url, "--sessions-dir", str(store))
    assert two.returncode == 2 and "--study" in two.stderr
    proc = kttui(
        "import", "optuna", url, "--study", "ext", "--metric", "loss", "--sessions-dir", str(store)
    )
    assert proc.returncode == 0, proc.stderr
    session = list_sessions(store)[0]
    table = load_session(session)
    assert table.direction == "minimize" and table.objective == "loss"
    assert list(table.df.state).count("pruned") == 1
    assert table.space["x"].log and table.space["k"].kind == "categorical"
    curve = [
        json.loads(x) for x in (session.trial_dir(0) / "metrics.jsonl").read_text().splitlines()
    ]
    assert [c["epoch"] for c in curve] == [0, 1, 2]
    missing = kttui(
        "import", "optuna", f"sqlite:///{tmp_path / 'nope.db'}", "--sessions-dir", str(store)
    )
    assert missing.returncode == 2 and "no such database file" in missing.stderr
    assert not (tmp_path / "nope.db").exists()


def test_dirs_import_like_seed000_folders(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for name, d_model, auc in (("e1", 256, 0.71), ("e2", 384, 0.72), ("e3", 512, None)):
        folder = root / name
        folder.mkdir(parents=True)
        config = {"d_model": d_model, "lr": 1e-4, "model": {"blocks": 4}}
        (folder / "config.json").write_text(json.dumps(config))
        if auc is not None:
            (folder / "eval_results.json").write_text(
                json.dumps({"test_auc": auc, "test_acc": 0.7})
            )
            (folder / "training_log.csv").write_text("epoch,val_auc\n1,0.6\n2,0.65\n")
    store = tmp_path / "s"
    proc = kttui("import", "dirs", str(root), "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    assert "3 trials (2 complete, 1 incomplete)" in proc.stdout
    table = load_session(list_sessions(store)[0], curves=True)
    assert table.params == ["d_model"] and table.fixed == {"lr": 1e-4, "model.blocks": 4}
    assert table.curves is not None and len(table.curves) == 2
    (root / "e2" / "eval_results.json").write_text("{broken")
    bad = kttui("import", "dirs", str(root), "--sessions-dir", str(tmp_path / "s2"))
    assert bad.returncode == 2 and "e2/eval_results.json: invalid JSON" in bad.stderr
    assert not (tmp_path / "s2").exists() or not any((tmp_path / "s2").iterdir())


def test_report_of_a_real_session_has_every_section(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        space={
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "k": {"type": "categorical", "choices": [1, 2, 3]},
            "flag": {"type": "bool"},
        },
        fixed={"epochs": 3},
        baseline={"value": 0.4},
        strategy={"sampler": "random", "n_trials": 16, "seed": 0},
        pruner={"type": "median", "n_startup_trials": 4, "min_epochs": 1},
    )
    assert kttui("run", str(spec), "--foreground", "--sessions-dir", str(store)).returncode == 0
    out, nxt, extra = tmp_path / "r.md", tmp_path / "next.yaml", tmp_path / "extra.yaml"
    proc = kttui(
        "report",
        "-o",
        str(out),
        "--refine",
        str(nxt),
        "--proposals",
        str(extra),
        "--csv-dir",
        str(tmp_path / "csv"),
        "--top",
        "5",
        "--sessions-dir",
        str(store),
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    missing = [s.TITLE for s in SECTIONS if s.TITLE not in text]
    assert not missing, missing
    assert "```" in text  # text charts in fenced blocks
    for path in (nxt, tmp_path / "next.conservative.yaml", extra):
        load_spec(path)  # every generated spec is a valid kttui spec
    assert (tmp_path / "csv" / "trials.csv").is_file()
    # The CSV export comes from the report's own sections: its top table is the one shown.
    shown = text.split("## Top 5 configurations\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    top_csv = (tmp_path / "csv" / "top.csv").read_text().splitlines()
    assert len(top_csv) - 1 == len(shown) - 2 and 0 < len(shown) - 2 <= 5
