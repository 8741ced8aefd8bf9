"""The example specs drive unmodified scripts: pykt's per-model scripts (stand-ins here,
the real package in test_pykt_real.py) and a regex logger."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from kttui.service.logs import read_metrics
from kttui.service.specs import curve_label
from kttui.session import list_sessions
from tests.conftest import ROOT, kttui


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_pykt_spec_reads_every_epoch(tmp_path: Path, store: Path, unbuffered: str) -> None:
    text = (ROOT / "specs" / "pykt-akt.yaml").read_text()
    text = text.replace("workdir: ../pykt-toolkit/examples", f"workdir: {ROOT / 'tests' / 'progs'}")
    text = text.replace("command: [python,", "command: ['{python}',")
    text = text.replace("[python, wandb_predict.py", "['{python}', wandb_predict.py")
    text = text.replace("n_trials: 40", "n_trials: 3")
    text = text.replace(
        "resources: {backend: local, gpus: auto",
        'env: {PYTHONUNBUFFERED: "'
        + unbuffered
        + '"}\nresources: {backend: local, gpus: auto, cpu_slots: 2',
    )
    spec = tmp_path / "pykt.yaml"
    spec.write_text(text)
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    session = list_sessions(store)[0]
    study = optuna.load_study(study_name="pykt-akt", storage=f"sqlite:///{session.db_path}")
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 3
    for t in done:
        assert sorted(t.intermediate_values) == [1, 2, 3, 4]
        # pykt's closing summary row gives the best validauc unrounded (a final metric)
        assert t.value == pytest.approx(max(t.intermediate_values.values()), abs=1e-4)
        argv = (session.trial_dir(t.number) / "stdout.log").read_text()
        assert "Start training model: akt" in argv
        # the evaluation step ran on this trial's own save folder: test AUC beside validauc
        final = t.user_attrs["kttui:final"]
        lr = t.params["learning_rate"]
        assert final["testauc"] == pytest.approx(0.65 + 100 * lr)
        assert "window_testacc" not in final  # pykt's -1: not computed
        status = session.trial_status(t.number) or {}
        assert status["final"]["testauc"] == final["testauc"]
        # the console's trial detail: test metrics in the same table as validauc
        rows = read_metrics(session, t.number)
        assert rows[-1]["epoch"] == "final" and rows[-1]["testauc"] == final["testauc"]
        assert {"validauc", "validacc", "train_loss"} <= set(rows[0])
    # pykt's validauc is the best so far: the console's curves say so
    assert curve_label(session, "validauc") == "validauc (best so far)"
    assert curve_label(session, "train_loss") == "train_loss"


def test_regex_spec_validates_and_parses_its_own_example_line() -> None:
    from kttui.metricparse import LineParser
    from kttui.specload import load_spec

    spec = load_spec(ROOT / "specs" / "regex-generic.yaml").spec
    parsed = LineParser("regex", spec.metrics.pattern).parse("epoch=3 val_loss=0.41")
    assert parsed and parsed is not False
    assert parsed.epoch == 3 and parsed.values == {"val_loss": 0.41}
