"""The example specs drive unmodified scripts: pykt's wandb_train.py and a regex logger."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from kttui.session import list_sessions
from tests.conftest import ROOT, kttui


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_pykt_spec_reads_every_epoch(tmp_path: Path, store: Path, unbuffered: str) -> None:
    text = (ROOT / "specs" / "pykt-akt.yaml").read_text()
    text = text.replace("workdir: ../pykt-toolkit/examples", f"workdir: {ROOT / 'tests' / 'progs'}")
    text = text.replace("command: [python,", "command: ['{python}',")
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
        assert t.value == max(t.intermediate_values.values())
        argv = (session.trial_dir(t.number) / "stdout.log").read_text()
        assert "Start training model: akt" in argv


def test_regex_spec_validates_and_parses_its_own_example_line() -> None:
    from kttui.metricparse import LineParser
    from kttui.specload import load_spec

    spec = load_spec(ROOT / "specs" / "regex-generic.yaml").spec
    parsed = LineParser("regex", spec.metrics.pattern).parse("epoch=3 val_loss=0.41")
    assert parsed and parsed is not False
    assert parsed.epoch == 3 and parsed.values == {"val_loss": 0.41}
