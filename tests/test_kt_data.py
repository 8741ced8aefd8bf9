"""The synthetic generator, splits, reference AUCs and the dataset cache (no torch)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kttui.kt import data as ktdata
from kttui.kt import splits as ktsplits
from kttui.kt import synthetic as ktsynthetic
from kttui.kt.metrics import accuracy, auc

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo() -> ktdata.KTDataset:
    return ktsynthetic.generate(n_students=600, seq_len=40, seed=3)


def _arrays(ds: ktdata.KTDataset) -> dict[str, np.ndarray]:
    return {
        "questions": ds.questions,
        "skills": ds.skills,
        "responses": ds.responses,
        "lengths": ds.lengths,
        "probs": np.nan_to_num(ds.probs, nan=-1.0) if ds.probs is not None else np.array([]),
    }


def test_generate_is_deterministic_in_seed() -> None:
    a = ktsynthetic.generate(100, 30, seed=7)
    b = ktsynthetic.generate(100, 30, seed=7)
    c = ktsynthetic.generate(100, 30, seed=8)
    for name, arr in _arrays(a).items():
        np.testing.assert_array_equal(arr, _arrays(b)[name], err_msg=name)
    assert not np.array_equal(a.responses, c.responses)


def test_generated_sequences_are_well_formed(demo: ktdata.KTDataset) -> None:
    assert demo.questions.shape == (600, 40)
    assert demo.lengths.min() >= 2 and demo.lengths.max() <= 40
    inside = demo.mask
    assert np.all(demo.questions[~inside] == ktdata.PAD)
    assert np.all(demo.responses[~inside] == ktdata.PAD)
    assert set(np.unique(demo.responses[inside]).tolist()) == {0, 1}
    assert demo.questions[inside].max() < demo.n_questions
    # every question belongs to exactly one skill
    pairs = {(q, s) for q, s in zip(demo.questions[inside], demo.skills[inside], strict=True)}
    assert len(pairs) == len({q for q, _ in pairs})
    assert demo.probs is not None
    assert np.all((demo.probs[inside] > 0) & (demo.probs[inside] < 1))


def test_students_learn_with_practice(demo: ktdata.KTDataset) -> None:
    assert demo.probs is not None
    inside = demo.mask
    early = demo.probs[:, :5][inside[:, :5]].mean()
    late = demo.probs[:, 25:][inside[:, 25:]].mean()
    assert late > early + 0.05


def test_oracle_clearly_beats_baseline(demo: ktdata.KTDataset) -> None:
    split = ktsplits.split_students(demo, seed=0)
    assert split.oracle_auc is not None
    assert 0.55 < split.baseline_auc < split.oracle_auc - 0.1
    assert split.oracle_auc < 0.95  # responses stay noisy (guessing and slips)
    assert "oracle_auc" in split.summary() and "baseline_auc" in split.summary()


def test_baseline_uses_train_rates_only() -> None:
    ds = ktsynthetic.generate(200, 20, seed=1)
    train, test = ds.subset(np.arange(100)), ds.subset(np.arange(100, 200))
    pred = ktsplits.baseline_predictions(train, test)
    m = train.mask
    q = int(train.questions[0, 0])
    n = int(np.sum(train.questions[m] == q))
    k = int(np.sum(train.responses[m][train.questions[m] == q]))
    overall = train.responses[m].mean()
    expected = (k + 5.0 * overall) / (n + 5.0)
    rows, cols = np.nonzero((test.questions == q) & test.mask)
    assert rows.size > 0
    assert pred[rows[0], cols[0]] == pytest.approx(expected)


def test_split_is_a_seeded_partition_by_student(demo: ktdata.KTDataset) -> None:
    a = ktsplits.split_students(demo, seed=5)
    b = ktsplits.split_students(demo, seed=5)
    c = ktsplits.split_students(demo, seed=6)
    parts = [set(a.train.uids), set(a.val.uids), set(a.test.uids)]
    for x, y in itertools.combinations(parts, 2):
        assert not x & y
    assert set().union(*parts) == set(demo.uids)
    assert len(parts[1]) == len(parts[2]) == 90
    assert set(a.test.uids) == set(b.test.uids)
    assert set(a.test.uids) != set(c.test.uids)


def test_split_rejects_too_few_students() -> None:
    with pytest.raises(ValueError, match="too few students"):
        ktsplits.split_students(ktsynthetic.generate(2, 10), seed=0)


def test_chunking_keeps_students_together() -> None:
    ds = ktsynthetic.generate(30, 50, seed=2)
    chunks = ds.chunked(20)
    assert chunks.max_len == 20
    assert chunks.n_interactions <= ds.n_interactions
    # only chunks shorter than 2 steps are dropped
    lost = sum(int(n % 20 == 1) for n in ds.lengths)
    assert chunks.n_interactions == ds.n_interactions - lost
    i = int(np.argmax(ds.lengths))
    rows = np.flatnonzero(chunks.uids == ds.uids[i])
    joined = np.concatenate([chunks.questions[r, : chunks.lengths[r]] for r in rows])
    np.testing.assert_array_equal(joined, ds.questions[i, : len(joined)])
    assert ds.chunked(50) is ds


def test_save_load_round_trip(tmp_path: Path, demo: ktdata.KTDataset) -> None:
    path = tmp_path / "sub" / "demo.npz"
    ktdata.save(demo, path)
    back = ktdata.load(path)
    for name, arr in _arrays(demo).items():
        np.testing.assert_array_equal(arr, _arrays(back)[name], err_msg=name)
    assert back.n_questions == demo.n_questions and back.source == demo.source
    assert [p.name for p in path.parent.iterdir()] == ["demo.npz"]  # no temp files left


def test_cache_generates_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ktsynthetic.load_or_generate(tmp_path, n_students=50, seq_len=10, seed=4)
    assert ktsynthetic.cache_path(tmp_path, 50, 10, 12, 120, 4).exists()

    def boom(*args: object, **kwargs: object) -> ktdata.KTDataset:
        raise AssertionError("regenerated despite the cache")

    monkeypatch.setattr(ktsynthetic, "generate", boom)
    second = ktsynthetic.load_or_generate(tmp_path, n_students=50, seq_len=10, seed=4)
    np.testing.assert_array_equal(first.responses, second.responses)


def test_corrupt_cache_is_regenerated(tmp_path: Path) -> None:
    path = ktsynthetic.cache_path(tmp_path, 50, 10, 12, 120, 0)
    path.write_bytes(b"truncated")
    ds = ktsynthetic.load_or_generate(tmp_path, n_students=50, seq_len=10)
    assert ktdata.load(path).n_rows == ds.n_rows == 50


@pytest.mark.parametrize(
    ("labels", "scores", "expected"),
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),
        ([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], 0.0),
        ([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], 0.5),
        ([0, 1, 1], [0.3, 0.3, 0.9], 0.75),
    ],
)
def test_auc_known_values(labels: list[int], scores: list[float], expected: float) -> None:
    assert auc(labels, scores) == pytest.approx(expected)


def test_auc_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.3 * y, 1)  # rounding creates ties
    pos, neg = s[y == 1], s[y == 0]
    pairwise = ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()
    assert auc(y, s) == pytest.approx(pairwise)


def test_auc_undefined_cases_are_nan() -> None:
    assert np.isnan(auc([1, 1], [0.2, 0.3]))
    assert np.isnan(auc([0, 1], [np.nan, 0.3]))
    assert accuracy([0, 1, 1], [0.2, 0.7, 0.4]) == pytest.approx(2 / 3)


def test_data_modules_do_not_import_torch() -> None:
    code = (
        "import sys, kttui.kt, kttui.kt.data, kttui.kt.splits, kttui.kt.synthetic, "
        "kttui.kt.pykt_data, kttui.kt.params, "
        "kttui.kt.train; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_data_cli_prints_reference_aucs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.npz"
    assert ktsynthetic.main(["--n_students", "100", "--seq_len", "20", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "oracle_auc = 0." in text and "baseline_auc = 0." in text
    assert ktdata.load(out).n_rows == 100
