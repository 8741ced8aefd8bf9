"""The evaluation step (spec ``evaluate``): test metrics after training, real processes."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from kttui.evaluate import FAILED, expand
from kttui.metricparse import LineParser
from kttui.session import list_sessions
from tests.conftest import ROOT, kttui, write_spec

PROGS = ROOT / "tests" / "progs"
TRAIN = [
    "{python}",
    "wandb_akt_train.py",
    *("--dataset_name", "d", "--model_name", "akt", "--emb_type", "qid"),
    *("--save_dir", "{trial_dir}/saved", "--seed", "1", "--fold", "0"),
    *("--dropout", "0.1", "--learning_rate", "{learning_rate}", "--d_model", "8"),
    *("--d_ff", "32", "--num_attn_heads", "2", "--n_blocks", "1"),
    *("--use_wandb", "0", "--add_uuid", "0", "--epochs", "{epochs}"),
]


def _spec(tmp_path: Path, objective: str, fail_above: float | None) -> Path:
    predict = ["{python}", "wandb_predict.py", "--save_dir", "{trial_dir}/saved/**/"]
    predict += ["--use_wandb", "0"]
    if fail_above is not None:
        predict += ["--fail_above", str(fail_above)]
    return write_spec(
        tmp_path / "s.yaml",
        name="ev",
        objective={"metric": objective, "direction": "maximize", "summary": "best"},
        command=TRAIN,
        evaluate=[predict],
        workdir=str(PROGS),
        pass_params="none",
        metrics={"format": "pykt"},
        space={"learning_rate": {"type": "float", "low": 1e-4, "high": 1e-3, "log": True}},
        fixed={"epochs": 3},
        strategy={"sampler": "random", "n_trials": 4, "seed": 3},
        env={"MY_FLAG": "on"},
    )


def _study(store: Path) -> optuna.Study:
    (session,) = list_sessions(store)
    return optuna.load_study(study_name="ev", storage=f"sqlite:///{session.db_path}")


def test_failed_evaluation_fails_the_trial_and_keeps_its_curve(tmp_path: Path, store: Path) -> None:
    proc = kttui(
        "run", str(_spec(tmp_path, "validauc", 4e-4)), "--foreground", "--sessions-dir", str(store)
    )
    assert proc.returncode == 0, proc.stderr
    study = _study(store)
    by_state: dict[str, list[optuna.trial.FrozenTrial]] = {"COMPLETE": [], "FAIL": []}
    for t in study.trials:
        by_state[t.state.name].append(t)
        assert sorted(t.intermediate_values) == [1, 2, 3]  # the training curve, always
    assert by_state["COMPLETE"] and by_state["FAIL"], "seed 3 gives learning rates both sides"
    for t in by_state["FAIL"]:
        assert t.params["learning_rate"] > 4e-4
        assert t.user_attrs["kttui:reason"] == FAILED
        status = (list_sessions(store)[0]).trial_status(t.number) or {}
        assert any("exited with code 3" in line for line in status["stderr_tail"])
    for t in by_state["COMPLETE"]:
        assert t.params["learning_rate"] <= 4e-4
        assert t.user_attrs["kttui:final"]["testauc"] > 0.65
        assert t.value == max(t.intermediate_values.values())  # objective: validauc


def test_objective_may_be_a_final_metric_and_reports_show_it(tmp_path: Path, store: Path) -> None:
    proc = kttui(
        "run", str(_spec(tmp_path, "testauc", None)), "--foreground", "--sessions-dir", str(store)
    )
    assert proc.returncode == 0, proc.stderr
    study = _study(store)
    assert len(study.trials) == 4
    for t in study.trials:
        assert t.state.name == "COMPLETE"
        assert t.value == pytest.approx(0.65 + 100 * t.params["learning_rate"])
    (session,) = list_sessions(store)
    out = tmp_path / "report.md"
    proc = kttui("report", str(session.path), "-o", str(out), "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    top = text.split("## Top")[1].split("\n## ")[0]
    assert "validauc" in top and "window_testauc" in top  # test beside validation metrics
    # each trial's own line: its cwd, the variables kttui set, placeholders filled
    ran = text.split("To re-run a trial by hand")[1].split("```sh\n")[1].split("```")[0]
    assert f"cd {PROGS} &&" in ran and "MY_FLAG=on" in ran and "KTTUI_TRIAL_DIR=" in ran
    assert str(session.trial_dir(0) / "saved") in ran and "{trial_dir}" not in ran
    assert "wandb_predict.py" in ran


def test_pykt_summary_row_and_test_line_become_finals() -> None:
    parser = LineParser("pykt")
    header = "fold\tmodelname\tembtype\ttestauc\ttestacc\twindow_testauc\twindow_testacc"
    header += "\tvalidauc\tvalidacc\tbest_epoch"
    assert parser.parse(header) is None
    row = parser.parse("0\tdkt\tqid\t-1\t-1\t-1\t-1\t0.7312\t0.7001\t7")
    assert row and row.kind == "final"
    assert row.values == {"validauc": 0.7312, "validacc": 0.7001, "best_epoch": 7.0}
    test = parser.parse("testauc: 0.74, testacc: 0.7, window_testauc: 0.75, window_testacc: -1")
    assert test and test.values == {"testauc": 0.74, "testacc": 0.7, "window_testauc": 0.75}
    assert parser.parse("            testauc: -1, testacc: -1, window_testauc: -1") is None
    assert parser.parse("a\tb\tc") is None
    assert parser.parse("x\tdkt\tqid\t1\t1\t1\t1\t0.7\t0.7\t3") is None  # fold not a number


def test_glob_arguments_name_exactly_one_innermost_folder(tmp_path: Path) -> None:
    deep = tmp_path / "saved" / "d_akt_" / "x" / "saved_1_0"
    deep.mkdir(parents=True)
    assert expand(f"{tmp_path}/saved/**/") == str(deep)
    assert expand("plain") == "plain"
    (tmp_path / "saved" / "other").mkdir()
    with pytest.raises(ValueError, match="matches 2 paths"):
        expand(f"{tmp_path}/saved/**/")
    with pytest.raises(ValueError, match="matches 0 paths"):
        expand(f"{tmp_path}/none/*")


def test_spec_checks_evaluate_placeholders_and_pykt_test_objective(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "a.yaml", evaluate=[["{python}", "x.py", "{nope}"]])
    proc = kttui("validate", str(spec))
    assert proc.returncode != 0 and "unknown placeholder {nope}" in proc.stdout + proc.stderr
    spec = write_spec(
        tmp_path / "b.yaml",
        objective={"metric": "testauc", "direction": "maximize"},
        metrics={"format": "pykt"},
    )
    proc = kttui("validate", str(spec))
    assert proc.returncode != 0 and "add an `evaluate` command" in proc.stdout + proc.stderr
