"""Reading pykt-toolkit sequence CSVs, and the fold-based split (no torch)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from kttui.kt import splits as ktsplits
from kttui.kt import synthetic as ktsynthetic
from kttui.kt.pykt_data import load_pykt_csv, write_pykt_csv

HEADER = "fold,uid,questions,concepts,responses,selectmasks\n"
GOOD_ROWS = [
    '0,u1,"10,11,12,-1,-1","0,1,1,-1,-1","1,0,1,-1,-1","1,1,1,-1,-1"\n',
    '1,u2,"13,10,14,15,16","2,0,3,3,2","0,0,1,1,1","1,1,1,1,1"\n',
    '1,u3,"14,15,-1,-1,-1","3,3,-1,-1,-1","1,1,-1,-1,-1","1,1,-1,-1,-1"\n',
]


def _write(tmp_path: Path, text: str, name: str = "seqs.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_good_file(tmp_path: Path) -> None:
    ds = load_pykt_csv(_write(tmp_path, HEADER + "".join(GOOD_ROWS)))
    assert ds.n_rows == 3
    np.testing.assert_array_equal(ds.lengths, [3, 5, 2])
    np.testing.assert_array_equal(ds.questions[0], [10, 11, 12, -1, -1])
    np.testing.assert_array_equal(ds.skills[1], [2, 0, 3, 3, 2])
    np.testing.assert_array_equal(ds.responses[2], [1, 1, -1, -1, -1])
    np.testing.assert_array_equal(ds.folds, [0, 1, 1])
    assert ds.uids.tolist() == ["u1", "u2", "u3"]
    assert (ds.n_questions, ds.n_skills) == (17, 4)
    assert ds.probs is None


def test_questions_column_is_optional(tmp_path: Path) -> None:
    text = 'fold,uid,concepts,responses\n0,7,"4,5,6","1,0,1"\n'
    ds = load_pykt_csv(_write(tmp_path, text))
    np.testing.assert_array_equal(ds.questions, ds.skills)
    assert ds.n_questions == ds.n_skills == 7


def test_round_trip_through_pykt_format(tmp_path: Path) -> None:
    ds = ktsynthetic.generate(40, 15, seed=2)
    path = tmp_path / "train_valid_sequences.csv"
    write_pykt_csv(ds, path, n_folds=4, seed=1)
    back = load_pykt_csv(path)
    for name in ("questions", "skills", "responses", "lengths"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ds, name), err_msg=name)
    assert back.folds is not None
    assert set(back.folds.tolist()) == {0, 1, 2, 3}


BAD_CASES = {
    "missing column": (
        'fold,uid,questions,concepts\n0,u1,"1,2","0,1"\n',
        1,
        "responses",
        "missing column",
    ),
    "mismatched lengths": (
        HEADER + GOOD_ROWS[0] + '0,u9,"1,2,3","0,1","1,0,1","1,1,1"\n',
        3,
        "concepts",
        "2 entries but 'responses' has 3",
    ),
    "non-integer token": (
        HEADER + '0,u1,"1,x2,3","0,1,1","1,0,1","1,1,1"\n',
        2,
        "questions",
        "token 2 ('x2') is not an integer",
    ),
    "empty token": (
        HEADER + '0,u1,"1,2,3","0,1,1","1,,1","1,1,1"\n',
        2,
        "responses",
        "is not an integer",
    ),
    "non-integer fold": (
        HEADER + 'a,u1,"1,2","0,1","1,0","1,1"\n',
        2,
        "fold",
        "not an integer",
    ),
    "response not binary": (
        HEADER + '0,u1,"1,2","0,1","1,2","1,1"\n',
        2,
        "responses",
        "not 0 or 1",
    ),
    "padding in the middle": (
        HEADER + '0,u1,"1,-1,2","0,-1,1","1,-1,0","1,-1,1"\n',
        2,
        "responses",
        "follows padding",
    ),
    "id under padding": (
        HEADER + '0,u1,"1,2,3","0,1,-1","1,0,-1","1,1,-1"\n',
        2,
        "questions",
        "where 'responses' is padding",
    ),
    "selectmasks length": (
        HEADER + '0,u1,"1,2","0,1","1,0","1"\n',
        2,
        "selectmasks",
        "1 entries",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_gives_one_line_error(tmp_path: Path, case: str) -> None:
    text, row, column, problem = BAD_CASES[case]
    path = _write(tmp_path, text, name=f"{case.replace(' ', '_')}.csv")
    with pytest.raises(ValueError) as info:
        load_pykt_csv(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert f"row {row}," in message
    assert repr(column) in message
    assert problem in message


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty file"):
        load_pykt_csv(_write(tmp_path, ""))


def test_split_by_fold(tmp_path: Path) -> None:
    ds = ktsynthetic.generate(200, 12, seed=0)
    path = tmp_path / "seqs.csv"
    write_pykt_csv(ds, path, n_folds=5, seed=0)
    loaded = load_pykt_csv(path)
    assert loaded.folds is not None
    split = ktsplits.split_by_fold(loaded, fold=2, seed=0, test_frac=0.2)
    assert set(split.val.uids) == set(loaded.uids[loaded.folds == 2])
    assert split.train.folds is not None and 2 not in set(split.train.folds.tolist())
    assert not set(split.test.uids) & (set(split.train.uids) | set(split.val.uids))
    assert split.oracle_auc is None
    assert 0.5 < split.baseline_auc < 1.0
    with pytest.raises(ValueError, match="fold 9 not in data"):
        ktsplits.split_by_fold(loaded, fold=9)


def test_split_by_fold_with_separate_test_file() -> None:
    ds = ktsynthetic.generate(120, 12, seed=0)
    folded = dataclasses.replace(ds, folds=np.arange(120) % 3)
    test = ktsynthetic.generate(30, 12, seed=9)
    split = ktsplits.split_by_fold(folded, fold=0, test=test)
    assert split.test is test
    assert split.train.n_rows == 80 and split.val.n_rows == 40


def test_export_pykt_writes_pykts_layout_and_keeps_other_entries(tmp_path: Path) -> None:
    """`kttui kt export-pykt`: the files pykt's scripts open, read back by our loader."""
    import json
    import subprocess
    import sys

    root = tmp_path / "pykt-toolkit"
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "data_config.json").write_text('{"assist2015": {"num_c": 100}}')
    (root / "configs" / "kt_config.json").write_text('{"train_config": {"num_epochs": 200}}')
    argv = [sys.executable, "-m", "kttui", "kt", "export-pykt", str(root), "--students", "60"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "kept" in done.stdout and "kt_config.json" in done.stdout
    config = json.loads((root / "configs" / "data_config.json").read_text())
    assert config["assist2015"] == {"num_c": 100}  # the clone's own entries stay
    entry = config["kttui_synthetic"]
    assert entry["dpath"] == "../data/kttui_synthetic" and entry["folds"] == [0, 1, 2, 3, 4]
    assert json.loads((root / "configs" / "kt_config.json").read_text()) == {
        "train_config": {"num_epochs": 200}
    }
    data = root / "data" / "kttui_synthetic"
    train = load_pykt_csv(data / entry["train_valid_file"])
    test = load_pykt_csv(data / entry["test_file"])
    assert train.folds is not None and set(train.folds.tolist()) == {0, 1, 2, 3, 4}
    assert test.folds is not None and set(test.folds.tolist()) == {-1}
    assert not set(train.uids) & set(test.uids)
    assert train.n_rows + test.n_rows == 60
    assert max(train.n_skills, test.n_skills) <= entry["num_c"]
    assert train.questions.shape[1] == entry["maxlen"]
    assert not (root / "examples").exists()  # launchers only with --scripts


def test_export_pykt_refuses_a_broken_data_config(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "configs" / "data_config.json"
    bad.parent.mkdir()
    bad.write_text("{not json")
    argv = [sys.executable, "-m", "kttui", "kt", "export-pykt", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and str(bad) in done.stderr
    assert "nothing was written" in done.stderr and "Traceback" not in done.stderr
    assert bad.read_text() == "{not json" and not (tmp_path / "data").exists()
