"""Knowledge-tracing datasets: the in-memory form, a synthetic generator, splits, caching.

numpy only: kttui's own process may generate or inspect demo data, and it must
not pay for (or need) torch. Sequences are stored right-padded with ``-1`` like
pykt-toolkit does, so real and synthetic data share one code path.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kttui.atomicfile import replacing
from kttui.kt.metrics import auc

#: bump when the generator's output for a given seed changes (invalidates caches)
GENERATOR_VERSION = 1
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


# --------------------------------------------------------------------------- generator


@dataclass(frozen=True)
class GeneratorParams:
    """Knobs of the synthetic student model; defaults are tuned so that history
    matters (a sequence model clearly beats per-question rates) yet the oracle
    stays well above what a model can reach from a few hundred students."""

    ability_sd: float = 1.5  # spread of general student ability (logits)
    skill_sd: float = 0.7  # per-student, per-skill deviation from general ability
    skill_difficulty_sd: float = 0.8
    question_difficulty_sd: float = 0.6  # around the skill's difficulty
    discrimination_mean: float = 1.3
    guess: tuple[float, float] = (0.05, 0.25)  # uniform range of the 3PL guessing floor
    slip: tuple[float, float] = (0.02, 0.10)  # uniform range of the slip ceiling
    learn_rate_median: float = 0.5  # ability gain of a first practice (logits)
    learn_rate_sd: float = 0.5  # log-normal spread of learning rates across students
    wrong_gain: float = 0.4  # a wrong answer teaches this share of a right one
    block_continue: float = 0.7  # chance the next question stays on the same skill
    min_len_frac: float = 0.4  # shortest sequence as a share of seq_len


def generate(
    n_students: int = 2000,
    seq_len: int = 50,
    n_skills: int = 12,
    n_questions: int = 120,
    seed: int = 0,
    params: GeneratorParams | None = None,
) -> KTDataset:
    """Simulate students practising skills, with an IRT 3PL response model and learning.

    Each question belongs to one skill and has a difficulty, a discrimination, a
    guessing floor and a slip ceiling. Each student has a general ability plus a
    per-skill offset; every practice of a skill raises that skill's ability with
    diminishing returns (more after a correct answer). Students work in runs on
    one skill before switching, so recent history is informative. Deterministic
    in ``seed``.
    """
    if n_students < 1 or seq_len < 2:
        raise ValueError("generate needs n_students >= 1 and seq_len >= 2")
    if n_skills < 1 or n_questions < n_skills:
        raise ValueError("generate needs n_skills >= 1 and n_questions >= n_skills")
    p = params or GeneratorParams()
    rng = np.random.default_rng(seed)

    skill_of_q = rng.permutation(np.arange(n_questions) % n_skills)
    skill_difficulty = rng.normal(0.0, p.skill_difficulty_sd, n_skills)
    difficulty = skill_difficulty[skill_of_q] + rng.normal(
        0.0, p.question_difficulty_sd, n_questions
    )
    discrimination = p.discrimination_mean * np.exp(rng.normal(0.0, 0.25, n_questions))
    guess = rng.uniform(*p.guess, n_questions)
    slip = rng.uniform(*p.slip, n_questions)
    questions_of_skill = [np.flatnonzero(skill_of_q == k) for k in range(n_skills)]
    q_count = np.array([len(q) for q in questions_of_skill])
    q_table = np.full((n_skills, int(q_count.max())), -1, dtype=np.int64)
    for k, qs in enumerate(questions_of_skill):
        q_table[k, : len(qs)] = qs

    ability = rng.normal(0.0, p.ability_sd, (n_students, 1)) + rng.normal(
        0.0, p.skill_sd, (n_students, n_skills)
    )
    learn_rate = p.learn_rate_median * np.exp(rng.normal(0.0, p.learn_rate_sd, n_students))
    min_len = max(2, round(p.min_len_frac * seq_len))
    lengths = rng.integers(min_len, seq_len + 1, n_students)

    questions = np.empty((n_students, seq_len), dtype=np.int64)
    responses = np.empty((n_students, seq_len), dtype=np.int8)
    probs = np.empty((n_students, seq_len), dtype=np.float32)
    practice = np.zeros((n_students, n_skills))
    rows = np.arange(n_students)
    skill = rng.integers(0, n_skills, n_students)
    for t in range(seq_len):
        if t > 0:
            switch = rng.random(n_students) >= p.block_continue
            skill = np.where(switch, rng.integers(0, n_skills, n_students), skill)
        q = q_table[skill, (rng.random(n_students) * q_count[skill]).astype(np.int64)]
        theta = ability[rows, skill]
        core = 1.0 / (1.0 + np.exp(-discrimination[q] * (theta - difficulty[q])))
        prob = guess[q] + (1.0 - guess[q] - slip[q]) * core
        correct = rng.random(n_students) < prob
        gain = np.where(correct, 1.0, p.wrong_gain) / np.sqrt(1.0 + practice[rows, skill])
        ability[rows, skill] += learn_rate * gain
        practice[rows, skill] += 1.0
        questions[:, t] = q
        responses[:, t] = correct
        probs[:, t] = prob

    inside = np.arange(seq_len)[None, :] < lengths[:, None]
    return KTDataset(
        questions=np.where(inside, questions, PAD),
        skills=np.where(inside, skill_of_q[questions], PAD),
        responses=np.where(inside, responses, np.int8(PAD)).astype(np.int8),
        lengths=lengths.astype(np.int64),
        n_questions=n_questions,
        n_skills=n_skills,
        uids=np.arange(n_students).astype(str),
        probs=np.where(inside, probs, np.float32(math.nan)).astype(np.float32),
        source=(
            f"synthetic(n_students={n_students}, seq_len={seq_len}, n_skills={n_skills}, "
            f"n_questions={n_questions}, seed={seed})"
        ),
    )


# --------------------------------------------------------------------------- splits


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


# --------------------------------------------------------------------------- files


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


def cache_path(
    cache_dir: str | os.PathLike[str],
    n_students: int,
    seq_len: int,
    n_skills: int,
    n_questions: int,
    seed: int,
) -> Path:
    """Where the synthetic dataset with these settings is cached."""
    name = (
        f"synthetic-v{GENERATOR_VERSION}-n{n_students}-l{seq_len}-k{n_skills}"
        f"-q{n_questions}-s{seed}.npz"
    )
    return Path(cache_dir) / name


def load_or_generate(
    cache_dir: str | os.PathLike[str] | None,
    n_students: int = 2000,
    seq_len: int = 50,
    n_skills: int = 12,
    n_questions: int = 120,
    seed: int = 0,
) -> KTDataset:
    """:func:`generate`, reusing the cache file in ``cache_dir`` when there is one."""
    if cache_dir is None:
        return generate(n_students, seq_len, n_skills, n_questions, seed)
    path = cache_path(cache_dir, n_students, seq_len, n_skills, n_questions, seed)
    try:
        return load(path)
    except (OSError, ValueError, KeyError):
        pass  # missing or unreadable (e.g. truncated by a crash): regenerate
    ds = generate(n_students, seq_len, n_skills, n_questions, seed)
    save(ds, path)
    return ds


def main(argv: Sequence[str] | None = None) -> int:
    """Generate (or reuse) a synthetic dataset and print its reference AUCs."""
    ap = argparse.ArgumentParser(prog="python -m kttui.kt.data", description=main.__doc__)
    ap.add_argument("--n_students", type=int, default=2000)
    ap.add_argument("--seq_len", type=int, default=50)
    ap.add_argument("--n_skills", type=int, default=12)
    ap.add_argument("--n_questions", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also save the dataset to this .npz file")
    args = ap.parse_args(argv)
    ds = generate(args.n_students, args.seq_len, args.n_skills, args.n_questions, args.seed)
    print(f"{ds.source}: {ds.n_rows} students, {ds.n_interactions} interactions")
    print(split_students(ds, seed=args.seed).summary())
    if args.out:
        save(ds, args.out)
        print(f"saved to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
