"""Train/validation/test splits by student, with the reference AUCs every split carries.

A student's rows never straddle parts (their history would leak); the oracle
AUC (synthetic data only) is the ceiling and the per-question baseline the floor
a KT model is read between.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kttui.kt.data import KTDataset
from kttui.kt.metrics import auc


def oracle_auc(ds: KTDataset) -> float | None:
    """AUC of the generator's true probabilities: the ceiling no model can beat."""
    if ds.probs is None:
        return None
    m = ds.eval_mask
    return auc(ds.responses[m], ds.probs[m])


def baseline_predictions(train: KTDataset, target: KTDataset, prior: float = 5.0) -> np.ndarray:
    """Per-question correct rates from ``train`` for every position of ``target``.

    Rates are shrunk towards the overall rate by ``prior`` pseudo-answers so that
    rarely seen questions do not get extreme scores; unseen ones get the overall rate.
    """
    m = train.mask
    q = train.questions[m]
    r = train.responses[m].astype(np.float64)
    overall = float(r.mean()) if r.size else 0.5
    size = max(train.n_questions, target.n_questions)
    n = np.bincount(q, minlength=size).astype(np.float64)
    k = np.bincount(q, weights=r, minlength=size)
    rate = (k + prior * overall) / (n + prior)
    return rate[np.clip(target.questions, 0, None)]


def baseline_auc(train: KTDataset, test: KTDataset) -> float:
    """AUC of per-question difficulty alone: the floor a KT model must clear."""
    m = test.eval_mask
    return auc(test.responses[m], baseline_predictions(train, test)[m])


@dataclass(frozen=True)
class Split:
    """Train/validation/test partition by student, with the reference AUCs on test."""

    train: KTDataset
    val: KTDataset
    test: KTDataset
    oracle_auc: float | None
    baseline_auc: float

    def summary(self) -> str:
        oracle = "n/a" if self.oracle_auc is None else f"{self.oracle_auc:.4f}"
        return (
            f"students train/val/test = {_n_students(self.train)}/{_n_students(self.val)}/"
            f"{_n_students(self.test)}, interactions = {self.train.n_interactions}/"
            f"{self.val.n_interactions}/{self.test.n_interactions}; "
            f"test oracle_auc = {oracle}, baseline_auc = {self.baseline_auc:.4f}"
        )


def _n_students(ds: KTDataset) -> int:
    return len(np.unique(ds.uids))


def make_split(train: KTDataset, val: KTDataset, test: KTDataset) -> Split:
    """Bundle a partition with its reference AUCs (computed on the test part)."""
    for name, part in (("train", train), ("val", val), ("test", test)):
        if part.n_rows == 0:
            raise ValueError(f"the {name} split is empty; use more students")
    return Split(train, val, test, oracle_auc(test), baseline_auc(train, test))


def _partition_uids(uids: np.ndarray, seed: int, fractions: Sequence[float]) -> list[np.ndarray]:
    """Shuffle the distinct uids with ``seed`` and cut them into parts of ``fractions``."""
    unique = np.unique(uids)
    order = np.random.default_rng(seed).permutation(unique.size)
    counts = [max(1, round(f * unique.size)) for f in fractions]
    if sum(counts) >= unique.size:
        raise ValueError(f"too few students ({unique.size}) to split")
    bounds = np.cumsum([0, *counts])
    parts = [unique[order[a:b]] for a, b in itertools.pairwise(bounds)]
    parts.append(unique[order[bounds[-1] :]])
    return parts


def split_students(
    ds: KTDataset, seed: int = 0, val_frac: float = 0.15, test_frac: float = 0.15
) -> Split:
    """Random split by student (uid), so no student's history leaks across parts."""
    val_ids, test_ids, train_ids = _partition_uids(ds.uids, seed, [val_frac, test_frac])
    return make_split(
        ds.subset(np.isin(ds.uids, train_ids)),
        ds.subset(np.isin(ds.uids, val_ids)),
        ds.subset(np.isin(ds.uids, test_ids)),
    )


def split_by_fold(
    ds: KTDataset,
    fold: int,
    seed: int = 0,
    test_frac: float = 0.15,
    test: KTDataset | None = None,
) -> Split:
    """pykt-style split: ``fold`` is validation, the other folds train.

    pykt keeps its test students in a separate file; pass it as ``test``. Without
    it, ``test_frac`` of the training students are held out (seeded) instead.
    """
    if ds.folds is None:
        raise ValueError("dataset has no folds")
    present = sorted({int(f) for f in ds.folds})
    if fold not in present:
        raise ValueError(f"fold {fold} not in data (folds: {', '.join(map(str, present))})")
    is_val = ds.folds == fold
    rest = ds.subset(~is_val)
    if test is None:
        (test_ids, train_ids) = _partition_uids(rest.uids, seed, [test_frac])
        test = rest.subset(np.isin(rest.uids, test_ids))
        rest = rest.subset(np.isin(rest.uids, train_ids))
    return make_split(rest, ds.subset(is_val), test)
