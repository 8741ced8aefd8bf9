"""Sweeps of real pykt-toolkit models (PyPI's pykt-toolkit, pinned in .ci/run) on
kttui's synthetic students, through the shipped presets: pykt's own code trains,
prints the epoch lines and evaluates; kttui only launches and reads.

Small on purpose (120 students, 2 epochs, 2 trials per model): a few seconds of
CPU per trial.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest

from kttui.session import list_sessions
from tests.conftest import ROOT, kttui

pytest.importorskip("pykt", reason="pykt-toolkit is not installed (.ci/run installs it)")

EPOCHS = 2


@pytest.fixture(scope="module")
def pykt_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pykt")
    proc = kttui(
        "kt", "export-pykt", str(root), "--scripts", "--students", "120", "--seq-len", "20",
        "--epochs", str(EPOCHS),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return root


def _preset(name: str, root: Path, tmp_path: Path, space: dict[str, str]) -> Path:
    """The shipped preset, pointed at the exported tree and made small."""
    text = (ROOT / "specs" / f"pykt-{name}.yaml").read_text()
    text = text.replace("workdir: ../pykt-toolkit/examples", f"workdir: {root / 'examples'}")
    text = text.replace("[python,", "['{python}',")
    text = re.sub(r"dataset_name: \w+", "dataset_name: kttui_synthetic", text)
    text = re.sub(r"n_trials: \d+", "n_trials: 2", text)
    text = re.sub(r"pruner: \{.*\}", "pruner: {type: none}", text)
    text = re.sub(
        r"resources: \{.*\}",
        "env: {OMP_NUM_THREADS: '1'}\nresources: {backend: local, cpu_slots: 2, timeout_min: 10}",
        text,
    )
    for param, line in space.items():
        text = re.sub(rf"  {param}: \{{.*\}}", f"  {param}: {line}", text)
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(text)
    return spec


@pytest.mark.parametrize(
    ("model", "space"),
    [
        ("dkt", {"emb_size": "{type: categorical, choices: [16, 32]}"}),
        (
            "akt",
            {
                "d_model": "{type: categorical, choices: [16, 32]}",
                "num_attn_heads": "{type: categorical, choices: [4]}",
                "n_blocks": "{type: categorical, choices: [1]}",
            },
        ),
    ],
)
def test_real_pykt_model_sweep(
    model: str, space: dict[str, str], pykt_root: Path, tmp_path: Path, store: Path
) -> None:
    spec = _preset(model, pykt_root, tmp_path, space)
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store), timeout=540)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (session,) = list_sessions(store)
    study = optuna.load_study(study_name=f"pykt-{model}", storage=f"sqlite:///{session.db_path}")
    assert len(study.trials) == 2
    for t in study.trials:
        status = session.trial_status(t.number) or {}
        assert t.state.name == "COMPLETE", status.get("reason")
        assert sorted(t.intermediate_values) == list(range(1, EPOCHS + 1))
        lines = [
            json.loads(x) for x in session.trial_dir(t.number).joinpath("metrics.jsonl").open()
        ]
        rows = [r for r in lines if "final" not in r]
        assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))
        assert lines[-1]["final"]["testauc"] == t.user_attrs["kttui:final"]["testauc"]
        for r in rows:
            assert {"validauc", "validacc", "train_loss"} <= set(r)
            assert 0.0 < r["validauc"] <= 1.0
        assert t.user_attrs["kttui:bad_lines"] == 0 and status["bad_lines"] == 0
        assert status["duplicate_epochs"] == 0
        stdout = session.trial_dir(t.number).joinpath("stdout.log").read_text()
        assert f"Start training model: {model}" in stdout
        # pykt's own summary row and its evaluation: test AUC among the final metrics
        final = t.user_attrs["kttui:final"]
        assert 0.0 < final["testauc"] <= 1.0 and 0.0 < final["window_testauc"] <= 1.0
        assert final["best_epoch"] in range(1, EPOCHS + 1)
        # pykt's validauc is the best so far: it never falls
        curve = [t.intermediate_values[e] for e in sorted(t.intermediate_values)]
        assert curve == sorted(curve)
        assert t.value == pytest.approx(max(curve), abs=1e-4)
