"""Knowledge-tracing datasets: the in-memory form and its file format.

numpy only: kttui's own process may generate or inspect demo data, and it must
not pay for (or need) torch. Sequences are stored right-padded with ``-1`` like
pykt-toolkit does, so real and synthetic data share one code path. The synthetic
generator is :mod:`kttui.kt.synthetic`, splits and reference AUCs :mod:`kttui.kt.splits`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kttui.atomicfile import replacing

_FILE_FORMAT = 1
PAD = -1


@dataclass(frozen=True, eq=False)
class KTDataset:
    """Padded per-student interaction sequences (one row per student or chunk).

    ``eq=False``: element-wise array comparison has no single truth value.
    """

    questions: np.ndarray  # (N, L) int64 question id, PAD after the sequence end
    skills: np.ndarray  # (N, L) int64 skill (concept) id of the question
    responses: np.ndarray  # (N, L) int8 1 = correct, 0 = wrong, PAD after the end
    lengths: np.ndarray  # (N,) int64 number of real interactions per row
    n_questions: int
    n_skills: int
    uids: np.ndarray  # (N,) str; rows sharing a uid are one student (kept in one split)
    probs: np.ndarray | None = None  # (N, L) float32 true P(correct); synthetic data only
    folds: np.ndarray | None = None  # (N,) int64 pykt fold of each row
    source: str = ""

    def __post_init__(self) -> None:
        shape = self.questions.shape
        if len(shape) != 2:
            raise ValueError(f"questions must be 2-D (students x steps), got shape {shape}")
        for name in ("skills", "responses") + (("probs",) if self.probs is not None else ()):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected {shape}")
        for name in ("lengths", "uids") + (("folds",) if self.folds is not None else ()):
            if getattr(self, name).shape != (shape[0],):
                raise ValueError(f"{name} must have one entry per row ({shape[0]})")

    @property
    def n_rows(self) -> int:
        return int(self.questions.shape[0])

    @property
    def max_len(self) -> int:
        return int(self.questions.shape[1])

    @property
    def n_interactions(self) -> int:
        return int(self.lengths.sum())

    @property
    def mask(self) -> np.ndarray:
        """True at real (non-padding) interactions."""
        return np.arange(self.max_len)[None, :] < self.lengths[:, None]

    @property
    def eval_mask(self) -> np.ndarray:
        """Interactions that are scored: every real one except each row's first.

        The first step has no history to predict from, so models, the oracle and
        the baseline are all scored on exactly these positions to be comparable.
        """
        m = self.mask.copy()
        m[:, 0] = False
        return m

    def subset(self, rows: np.ndarray) -> KTDataset:
        """The dataset restricted to ``rows`` (indices or a boolean row mask)."""
        return replace(
            self,
            questions=self.questions[rows],
            skills=self.skills[rows],
            responses=self.responses[rows],
            lengths=self.lengths[rows],
            uids=self.uids[rows],
            probs=None if self.probs is None else self.probs[rows],
            folds=None if self.folds is None else self.folds[rows],
        )

    def chunked(self, max_len: int) -> KTDataset:
        """Cut rows longer than ``max_len`` into consecutive chunks, like pykt does.

        Chunks keep their uid so a student never straddles splits; chunks with fewer
        than two interactions are dropped because nothing in them can be scored.
        """
        if max_len < 2:
            raise ValueError(f"seq_len must be at least 2, got {max_len}")
        if self.max_len <= max_len:
            return self
        n_chunks = -(-self.lengths // max_len)
        row = np.repeat(np.arange(self.n_rows), n_chunks)
        first_chunk = np.repeat(np.cumsum(n_chunks) - n_chunks, n_chunks)
        start = (np.arange(row.size) - first_chunk) * max_len
        length = np.minimum(self.lengths[row] - start, max_len)
        keep = length >= 2
        row, start, length = row[keep], start[keep], length[keep]
        cols = np.minimum(start[:, None] + np.arange(max_len)[None, :], self.max_len - 1)
        inside = np.arange(max_len)[None, :] < length[:, None]

        def take(a: np.ndarray, pad: float) -> np.ndarray:
            return np.where(inside, a[row[:, None], cols], np.asarray(pad, dtype=a.dtype))

        return replace(
            self,
            questions=take(self.questions, PAD),
            skills=take(self.skills, PAD),
            responses=take(self.responses, PAD),
            lengths=length.astype(np.int64),
            uids=self.uids[row],
            probs=None if self.probs is None else take(self.probs, math.nan),
            folds=None if self.folds is None else self.folds[row],
        )


def save(ds: KTDataset, path: str | os.PathLike[str]) -> None:
    """Write ``ds`` to an ``.npz`` atomically (temp file + rename).

    Parallel trials may race to create the same cache file; a rename is atomic, so
    a reader sees either no file or a complete one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(_FILE_FORMAT),
        "questions": ds.questions,
        "skills": ds.skills,
        "responses": ds.responses,
        "lengths": ds.lengths,
        "n_questions": np.array(ds.n_questions),
        "n_skills": np.array(ds.n_skills),
        "uids": ds.uids.astype(str),
        "source": np.array(ds.source),
    }
    if ds.probs is not None:
        arrays["probs"] = ds.probs
    if ds.folds is not None:
        arrays["folds"] = ds.folds
    with replacing(target, binary=True) as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]


def load(path: str | os.PathLike[str]) -> KTDataset:
    """Read a dataset written by :func:`save`."""
    with np.load(path, allow_pickle=False) as z:
        if "format" not in z or int(z["format"]) != _FILE_FORMAT:
            raise ValueError(f"{path}: not a kttui KT dataset file (or an old format)")
        return KTDataset(
            questions=z["questions"],
            skills=z["skills"],
            responses=z["responses"],
            lengths=z["lengths"],
            n_questions=int(z["n_questions"]),
            n_skills=int(z["n_skills"]),
            uids=z["uids"],
            probs=z.get("probs"),
            folds=z.get("folds"),
            source=str(z["source"]),
        )
