"""Read pykt-toolkit's processed sequence CSVs (``train_valid_sequences.csv`` etc.).

Each row is one student (or one chunk of a long history): ``fold``, ``uid`` and
comma-separated sequences ``questions``, ``concepts``, ``responses`` (optionally
``selectmasks``, ``timestamps``, ``usetimes``), right-padded with ``-1``. Errors
name the file, the row (the file's line number, header = 1) and the column, on
one line, because they end up as a trial's failure reason in the sweep table.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from kttui.kt.data import PAD, KTDataset

REQUIRED = ("fold", "uid", "concepts", "responses")
#: sequence columns checked for length and integer tokens (when present)
SEQUENCES = ("questions", "concepts", "responses", "selectmasks", "timestamps", "usetimes")


def _fail(path: Path, row: int, column: str, problem: str) -> ValueError:
    return ValueError(f"{path}, row {row}, column {column!r}: {problem}")


def _ints(path: Path, row: int, column: str, text: str) -> list[int]:
    tokens = text.split(",")
    out = []
    for i, token in enumerate(tokens):
        try:
            out.append(int(token))
        except ValueError:
            raise _fail(
                path, row, column, f"token {i + 1} ({token.strip()!r}) is not an integer"
            ) from None
    return out


def load_pykt_csv(path: str | os.PathLike[str]) -> KTDataset:
    """Load a pykt sequence CSV; ``questions`` falls back to ``concepts`` when absent.

    pykt omits the ``questions`` column for datasets without question ids
    (e.g. ASSISTments 2015), and then concepts play both roles.
    """
    file = Path(path)
    with file.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        if not header:
            raise ValueError(f"{file}, row 1: empty file (expected a CSV header)")
        columns = [c.strip() for c in header]
        reader.fieldnames = columns
        for column in REQUIRED:
            if column not in columns:
                raise _fail(file, 1, column, f"missing column (header has: {', '.join(columns)})")
        present = [c for c in SEQUENCES if c in columns]

        folds: list[int] = []
        uids: list[str] = []
        seqs: dict[str, list[list[int]]] = {"questions": [], "concepts": [], "responses": []}
        for record in reader:
            row = reader.line_num
            if None in record or any(record[c] is None for c in columns):
                raise _fail(file, row, columns[-1], "wrong number of fields")
            try:
                folds.append(int(record["fold"]))
            except ValueError:
                raise _fail(file, row, "fold", f"{record['fold']!r} is not an integer") from None
            uid = record["uid"].strip()
            if not uid:
                raise _fail(file, row, "uid", "empty uid")
            uids.append(uid)
            parsed = {c: _ints(file, row, c, record[c]) for c in present}
            n = len(parsed["responses"])
            for c in present:
                if len(parsed[c]) != n:
                    raise _fail(file, row, c, f"{len(parsed[c])} entries but 'responses' has {n}")
            _check_row(file, row, parsed)
            for c in ("questions", "concepts", "responses"):
                seqs[c].append(parsed.get(c, parsed["concepts"]))
    if not uids:
        raise ValueError(f"{file}, row 2: no data rows")
    return _assemble(file, folds, uids, seqs)


def _check_row(file: Path, row: int, parsed: dict[str, list[int]]) -> None:
    """Padding must be trailing and shared by all columns; ids >= 0; responses 0/1."""
    responses = parsed["responses"]
    length = next((i for i, r in enumerate(responses) if r == PAD), len(responses))
    for i in range(length, len(responses)):
        if responses[i] != PAD:
            raise _fail(file, row, "responses", f"entry {i + 1} follows padding (-1)")
    for i in range(length):
        if responses[i] not in (0, 1):
            raise _fail(file, row, "responses", f"entry {i + 1} is {responses[i]}, not 0 or 1")
    for c in ("questions", "concepts"):
        values = parsed.get(c)
        if values is None:
            continue
        for i, v in enumerate(values):
            if (v < 0) != (i >= length):
                kind = "a negative id" if v < 0 else "an id where 'responses' is padding"
                raise _fail(file, row, c, f"entry {i + 1} is {kind} ({v})")


def _assemble(
    file: Path, folds: list[int], uids: list[str], seqs: dict[str, list[list[int]]]
) -> KTDataset:
    n_rows = len(uids)
    width = max(2, max(len(s) for s in seqs["responses"]))
    arrays = {c: np.full((n_rows, width), PAD, dtype=np.int64) for c in seqs}
    for c, rows in seqs.items():
        for i, values in enumerate(rows):
            arrays[c][i, : len(values)] = values
    lengths = (arrays["responses"] != PAD).sum(axis=1)
    return KTDataset(
        questions=arrays["questions"],
        skills=arrays["concepts"],
        responses=arrays["responses"].astype(np.int8),
        lengths=lengths.astype(np.int64),
        n_questions=int(arrays["questions"].max()) + 1,
        n_skills=int(arrays["concepts"].max()) + 1,
        uids=np.array(uids, dtype=str),
        folds=np.array(folds, dtype=np.int64),
        source=str(file),
    )


def write_pykt_csv(
    ds: KTDataset, path: str | os.PathLike[str], n_folds: int = 5, seed: int = 0
) -> None:
    """Write ``ds`` in pykt's sequence format, so synthetic data can exercise the
    real-data path (and be handed to pykt itself). Students without a fold get a
    seeded random one of ``n_folds``."""
    if ds.folds is not None:
        folds = ds.folds
    else:
        unique, inverse = np.unique(ds.uids, return_inverse=True)
        folds = np.random.default_rng(seed).integers(0, n_folds, unique.size)[inverse]
    mask = ds.mask

    def seq(a: np.ndarray) -> str:
        return ",".join(map(str, a.tolist()))

    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["fold", "uid", "questions", "concepts", "responses", "selectmasks"])
        for i in range(ds.n_rows):
            writer.writerow(
                [
                    int(folds[i]),
                    ds.uids[i],
                    seq(ds.questions[i]),
                    seq(ds.skills[i]),
                    seq(ds.responses[i]),
                    seq(np.where(mask[i], 1, PAD)),
                ]
            )
