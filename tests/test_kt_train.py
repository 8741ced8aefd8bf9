"""End-to-end runs of ``python -m kttui.kt.train`` in real subprocesses with real torch.

The successful runs are started together (module fixture) so the set costs about
one torch start-up per core, and so they race on the shared synthetic-data cache
the way parallel sweep trials do.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kttui.kt import synthetic as ktsynthetic
from kttui.kt.pykt_data import write_pykt_csv

REPO = Path(__file__).resolve().parents[1]
TINY = ["--n_students", "400", "--epochs", "10", "--patience", "0"]


@dataclass
class Run:
    dir: Path  # working directory (and metrics file location)
    returncode: int
    stdout: str
    stderr: str
    out: Path  # where eval_results.json and model_best.pt are expected

    @property
    def metrics_lines(self) -> list[dict[str, Any]]:
        path = self.dir / "metrics.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    @property
    def epochs(self) -> list[dict[str, Any]]:
        return [r for r in self.metrics_lines if "epoch" in r]

    @property
    def final(self) -> dict[str, Any]:
        finals = [r["final"] for r in self.metrics_lines if "final" in r]
        assert len(finals) == 1
        return finals[0]

    @property
    def results(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.out / "eval_results.json").read_text())
        return data


def _env(run_dir: Path, cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KTTUI_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(
        KTTUI_NUM_THREADS="1",
        KTTUI_DATA_CACHE=str(cache),
        KTTUI_METRICS=str(run_dir / "metrics.jsonl"),
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def _start(run_dir: Path, argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    run_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "kttui.kt.train", *argv],
        cwd=run_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(run_dir: Path, proc: subprocess.Popen[str], out: Path | None = None) -> Run:
    # Generous: six torch processes share the cores, and a loaded CI machine is slow.
    stdout, stderr = proc.communicate(timeout=600)
    return Run(run_dir, proc.returncode, stdout, stderr, out or run_dir)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("kt_runs")
    cache = root / "cache"
    params = root / "params.json"
    # argv (--epochs 10) must beat the file's epochs; "comment" is unknown.
    params.write_text(
        json.dumps(
            {
                "model": "dkt",
                "emb_size": 48,
                "n_students": 400,
                "epochs": 99,
                "patience": 0,
                "comment": "not a parameter",
            }
        )
    )
    pykt_csv = root / "train_valid_sequences.csv"
    write_pykt_csv(ktsynthetic.generate(300, 30, seed=5), pykt_csv, n_folds=5)
    trial_dir = root / "dkt" / "trial"
    specs: dict[str, tuple[list[str], dict[str, str]]] = {
        "dkt": (
            ["--epochs", "10"],
            {"KTTUI_PARAMS": str(params), "KTTUI_TRIAL_DIR": str(trial_dir)},
        ),
        "dkt_again": (["--model", "dkt", "--d_model", "48", *TINY, "--out", "."], {}),
        "sakt": (["--model", "sakt", "--d_model", "64", "--n_heads", "4", *TINY], {}),
        "dkt_low_lr": (["--d_model", "48", "--learning_rate", "1e-5", *TINY], {}),
        "early": (
            ["--n_students", "120", "--epochs", "40", "--patience", "2", "--learning_rate", "0.02"],
            {},
        ),
        "pykt": (
            ["--data", str(pykt_csv), "--fold", "1", "--seq_len", "20", "--epochs", "3"],
            {"KTTUI_METRICS": ""},  # unset: metric lines go to stdout only
        ),
    }
    procs = {
        name: _start(root / name, argv, _env(root / name, cache, **extra))
        for name, (argv, extra) in specs.items()
    }
    results = {
        name: _finish(root / name, proc, trial_dir if name == "dkt" else None)
        for name, proc in procs.items()
    }
    for name, run in results.items():
        assert run.returncode == 0, f"{name} failed:\n{run.stderr}"
    yield results


def test_metric_lines_and_final_line(runs: dict[str, Run]) -> None:
    run = runs["dkt"]
    epochs = run.epochs
    assert [r["epoch"] for r in epochs] == list(range(1, 11))  # argv --epochs beat the file's 99
    for r in epochs:
        assert set(r) == {"epoch", "train_loss", "val_auc", "val_acc", "elapsed_s"}
        assert 0.0 < r["val_auc"] < 1.0 and 0.0 < r["val_acc"] < 1.0 and r["train_loss"] > 0
    assert all(a["elapsed_s"] < b["elapsed_s"] for a, b in itertools.pairwise(epochs))
    assert "final" in run.metrics_lines[-1]
    final = run.final
    assert final["best_val_auc"] == max(r["val_auc"] for r in epochs)
    # the same lines are echoed to stdout, which is the trial's log
    printed = [json.loads(x) for x in run.stdout.splitlines() if x.startswith("{")]
    assert printed == run.metrics_lines


def test_eval_results_and_checkpoint_in_trial_dir(runs: dict[str, Run]) -> None:
    torch = pytest.importorskip("torch")
    run = runs["dkt"]
    trial_dir = run.dir / "trial"  # $KTTUI_TRIAL_DIR, no --out given
    assert run.out == trial_dir
    results = run.results
    assert results == run.final
    for key in (
        "test_auc",
        "test_acc",
        "best_epoch",
        "best_val_auc",
        "n_params",
        "oracle_auc",
        "baseline_auc",
        "elapsed_s",
    ):
        assert key in results, key
    state = torch.load(trial_dir / "model_best.pt", weights_only=True)
    assert state["epoch"] == results["best_epoch"]
    assert state["config"]["d_model"] == 48  # the file's alias emb_size was applied
    assert not (run.dir / "eval_results.json").exists()  # cwd was not used


def test_params_file_warns_about_unknown_keys(runs: dict[str, Run]) -> None:
    assert "ignoring unknown parameter 'comment'" in runs["dkt"].stderr
    assert "Traceback" not in runs["dkt"].stderr


def test_same_seed_same_metrics(runs: dict[str, Run]) -> None:
    a, b = runs["dkt"], runs["dkt_again"]  # one from the params file, one from argv

    def strip(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in lines]

    assert strip(a.epochs) == strip(b.epochs)
    assert a.final["test_auc"] == b.final["test_auc"]
    assert a.final["n_params"] == b.final["n_params"]
    assert (b.dir / "eval_results.json").exists()  # --out . wins over nothing


@pytest.mark.parametrize("name", ["dkt", "sakt"])
def test_model_beats_baseline_and_stays_below_oracle(runs: dict[str, Run], name: str) -> None:
    r = runs[name].results
    assert r["test_auc"] > r["baseline_auc"] + 0.04, r
    assert r["test_auc"] < r["oracle_auc"] - 0.02, r
    assert r["oracle_auc"] > r["baseline_auc"] + 0.1


def test_too_low_learning_rate_hurts(runs: dict[str, Run]) -> None:
    good, bad = runs["dkt"].results, runs["dkt_low_lr"].results
    assert bad["test_auc"] < good["test_auc"] - 0.05


def test_early_stopping_with_patience(runs: dict[str, Run]) -> None:
    run = runs["early"]
    aucs = [r["val_auc"] for r in run.epochs]
    stopped = len(aucs)
    assert stopped < 40
    best = max(range(stopped), key=lambda i: aucs[i])
    assert stopped == best + 1 + 2  # exactly `patience` epochs without a new best
    assert all(aucs[i] <= aucs[best] for i in range(best + 1, stopped))
    assert run.results["best_epoch"] == best + 1
    assert run.results["epochs_run"] == stopped


def test_pykt_csv_run_prints_metrics_once(runs: dict[str, Run]) -> None:
    run = runs["pykt"]
    lines = [json.loads(x) for x in run.stdout.splitlines() if x.startswith("{")]
    assert [r["epoch"] for r in lines if "epoch" in r] == [1, 2, 3]
    assert "final" in lines[-1]
    assert "oracle_auc" not in run.results and 0.5 < run.results["baseline_auc"] < 1
    assert not (run.dir / "metrics.jsonl").exists()
    assert "oracle_auc = n/a" in run.stdout


BAD = {
    "unknown model": (["--model", "bkt"], {}, "unknown model 'bkt'"),
    "heads": (["--model", "sakt", "--d_model", "30"], {}, "divisible by n_heads"),
    "unknown flag": (["--colour", "red"], {}, "unrecognized arguments: --colour red"),
    "missing data": (["--data", "absent.csv"], {}, "absent.csv: No such file or directory"),
    "bad csv": (["--data", "bad.csv"], {}, "bad.csv, row 2, column 'responses'"),
    "bad params file": ([], {"KTTUI_PARAMS": "params.json"}, "not valid JSON"),
    "bad threads": ([], {"KTTUI_NUM_THREADS": "many"}, "KTTUI_NUM_THREADS must be an integer"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_params_exit_nonzero_with_one_line(tmp_path: Path, case: str) -> None:
    argv, extra, message = BAD[case]
    (tmp_path / "bad.csv").write_text('fold,uid,concepts,responses\n0,u,"1,2","1,x"\n')
    (tmp_path / "params.json").write_text("{oops")
    env = _env(tmp_path, tmp_path / "cache", **extra)
    run = _finish(tmp_path, _start(tmp_path, argv, env))
    assert run.returncode == 2
    assert run.stderr.startswith("kttui.kt.train: error: ")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert message in run.stderr
    assert not (tmp_path / "eval_results.json").exists()
