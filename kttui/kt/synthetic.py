"""A synthetic student model, and a cache of the datasets it generates.

Deterministic in its seed, so parallel trials of a demo sweep train on the same
students; the cache file is shared by them and written atomically.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kttui.kt.data import PAD, KTDataset, load, save
from kttui.kt.splits import split_students

#: bump when the generator's output for a given seed changes (invalidates caches)
GENERATOR_VERSION = 1


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
    ap = argparse.ArgumentParser(prog="python -m kttui.kt.synthetic", description=main.__doc__)
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
