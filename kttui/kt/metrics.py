"""Ranking metrics shared by the data module (reference AUCs) and the trainer.

Kept numpy-only so kttui's own process can score reference predictions without
importing torch, and so the trainer and the references use one AUC definition.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """ROC AUC via the rank-sum identity, with tied scores sharing their mean rank.

    Returns NaN when the AUC is undefined (one class only, or a NaN score), so a
    diverged model shows up as NaN instead of a misleading number.
    """
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in size: {y.size} != {s.size}")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0 or not np.all(np.isfinite(s)):
        return math.nan
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    # Average ranks over runs of equal scores (1-based ranks).
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(s.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    rank_sum = float(ranks[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def accuracy(labels: ArrayLike, probs: ArrayLike, threshold: float = 0.5) -> float:
    """Share of responses whose thresholded probability matches; NaN if empty or NaN."""
    y = np.asarray(labels).astype(bool).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    if y.size == 0 or not np.all(np.isfinite(p)):
        return math.nan
    return float(np.mean((p >= threshold) == y))
