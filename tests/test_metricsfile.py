"""kttui.metricsfile: the console and the report read metrics.jsonl as the runner does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest

from kttui.analysis.load import load_session
from kttui.metricsfile import epoch_records, read_epoch_log
from kttui.session import list_sessions
from tests.conftest import kttui, write_spec

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize(
    ("lines", "epochs", "final", "bad"),
    [
        # a line without an epoch gets the previous epoch + 1 (analysis/load.py dropped it)
        (['{"score": 0.1}', '{"score": 0.2}'], {1: 0.1, 2: 0.2}, {}, 0),
        (['{"epoch": 5, "score": 0.1}', '{"score": 0.2}'], {5: 0.1, 6: 0.2}, {}, 0),
        # the first record of an epoch wins (a restarted loop does not rewrite history)
        (['{"epoch": 1, "score": 0.1}', '{"epoch": 1, "score": 0.9}'], {1: 0.1}, {}, 0),
        # out of order: read in epoch order
        (['{"epoch": 2, "score": 0.2}', '{"epoch": 1, "score": 0.1}'], {1: 0.1, 2: 0.2}, {}, 0),
        # final metrics are not an epoch
        (['{"epoch": 1, "score": 0.1}', '{"final": {"score": 0.5}}'], {1: 0.1}, {"score": 0.5}, 0),
        # bad lines are counted and skipped; blank lines are nothing
        (
            ["not json", "", "[1, 2]", '{"epoch": "x"}', '{"epoch": 1, "score": 0.3}'],
            {1: 0.3},
            {},
            3,
        ),
        # a cut half line at the end (the writer died) is a bad line, not a crash
        (['{"epoch": 1, "score": 0.3}', '{"epoch": 2, "sc'], {1: 0.3}, {}, 1),
        # NaN is kept in the record (the runner never reports it to Optuna)
        (['{"epoch": 1, "score": NaN}'], {1: math.nan}, {}, 0),
        ([], {}, {}, 0),
    ],
)
def test_policy(
    tmp_path: Path,
    lines: list[str],
    epochs: dict[int, float],
    final: dict[str, float],
    bad: int,
) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    log = read_epoch_log(path, "score")
    got = {e: v["score"] for e, v in log.epochs.items()}
    assert sorted(got) == sorted(epochs)
    for e, v in epochs.items():
        assert got[e] == v or (math.isnan(got[e]) and math.isnan(v))
    assert log.final == final and log.bad_lines == bad
    records = epoch_records(log)
    assert [r["epoch"] for r in records] == sorted(epochs) + (["final"] if final else [])
    assert [r["epoch"] for r in epoch_records(log, final=False)] == sorted(epochs)


def test_missing_file_has_no_epochs(tmp_path: Path) -> None:
    log = read_epoch_log(tmp_path / "nope.jsonl")
    assert log.epochs == {} and epoch_records(log) == []


def test_a_huge_line_is_cut_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    with open(path, "w") as fh:
        fh.write('{"epoch": 1, "score": 0.1}\n')
        fh.write('{"junk": "' + "x" * (3 << 20) + '"}\n')
        fh.write('{"epoch": 2, "score": 0.2}\n')
    log = read_epoch_log(path, "score")
    assert sorted(log.epochs) == [1, 2] and log.bad_lines == 1  # cut, so not valid JSON


# Three epochs without an "epoch" key, one duplicate, one bad line, then final metrics.
TRAINER = """
import json, os
lines = ['{"score": 0.1}', '{"score": 0.3}', 'oops', '{"epoch": 2, "score": 0.9}',
         '{"score": 0.2}', '{"final": {"score": 0.25}}']
with open(os.environ["KTTUI_METRICS"], "a") as fh:
    fh.write("\\n".join(lines) + "\\n")
"""


def test_the_report_sees_the_epochs_the_runner_reported(tmp_path: Path) -> None:
    """A real sweep: analysis curves == the intermediate values the runner told Optuna."""
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    spec = write_spec(
        tmp_path / "s.yaml",
        command=["{python}", str(script)],
        fixed=None,
        strategy={"sampler": "random", "n_trials": 1, "seed": 0},
    )
    store = tmp_path / "store"
    run = kttui("run", str(spec), "--sessions-dir", str(store), timeout=150)
    assert run.returncode == 0, run.stderr
    session = list_sessions(store)[0]
    study = optuna.load_study(study_name=None, storage=session.storage_url())
    reported = study.trials[0].intermediate_values
    assert reported == {1: 0.1, 2: 0.3, 3: 0.2}
    table = load_session(session, curves=True)
    assert table.curves is not None
    curve = table.curves[0]
    assert dict(zip(curve["epoch"], curve["score"], strict=True)) == reported
    assert json.loads((session.trial_dir(0) / "status.json").read_text())["state"] == "complete"
