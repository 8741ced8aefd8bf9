"""Write synthetic students as a pykt-toolkit dataset, so a real pykt model can be
swept with no dataset download.

pykt's scripts run from ``examples/`` and open ``../configs/data_config.json``,
``../configs/kt_config.json`` and the data under ``../data/NAME/``; this module
writes exactly that tree (adding one entry to an existing ``data_config.json``,
never touching its other entries), and, when asked, small launchers for a
pip-installed pykt, whose wheel ships no ``examples/`` (see
:mod:`kttui.kt.pykt_scripts`). numpy only: no torch, no pykt needed to export.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kttui.atomicfile import write_json_atomic
from kttui.kt.pykt_data import write_pykt_csv
from kttui.kt.pykt_scripts import launcher_files
from kttui.kt.synthetic import generate

#: pykt's file names for a processed dataset (keys of its data_config.json entry)
FILES = {
    "train_valid_file": "train_valid_sequences.csv",
    "test_file": "test_sequences.csv",
    "test_window_file": "test_window_sequences.csv",
}


@dataclass(frozen=True)
class Export:
    root: Path
    dataset: str
    written: list[Path]
    kept: list[Path]


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, data, indent=4)


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); nothing was written") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object; nothing was written")
    return data


def export_pykt(
    root: str | Path,
    *,
    dataset: str = "kttui_synthetic",
    students: int = 300,
    seq_len: int = 50,
    skills: int = 12,
    questions: int = 60,
    folds: int = 5,
    epochs: int = 2,
    seed: int = 0,
    scripts: bool = False,
) -> Export:
    """Write ``root/data/DATASET/*.csv`` and the ``data_config.json`` entry.

    A test share (15 % of students) goes to ``test_sequences.csv`` with fold -1;
    pykt's "window" test file is written with the same rows (synthetic
    sequences are never longer than ``maxlen``, so pykt's windowing of long
    sequences has nothing to cut). ``kt_config.json`` is only written when
    absent (``epochs`` is its ``num_epochs``): a clone's own file is kept.
    """
    root = Path(root)
    data_cfg_path = root / "configs" / "data_config.json"
    data_cfg = _read_config(data_cfg_path)  # fail before writing anything
    ds = generate(students, seq_len, skills, questions, seed)
    rng = np.random.default_rng(seed)
    is_test = rng.random(ds.n_rows) < 0.15
    is_test[0], is_test[-1] = True, False  # neither part is ever empty
    dpath = root / "data" / dataset
    dpath.mkdir(parents=True, exist_ok=True)
    written = []
    train = ds.subset(~is_test)
    write_pykt_csv(train, dpath / FILES["train_valid_file"], n_folds=folds, seed=seed)
    test = ds.subset(is_test)
    test = dataclasses.replace(test, folds=np.full(test.n_rows, -1, dtype=np.int64))
    for key in ("test_file", "test_window_file"):
        write_pykt_csv(test, dpath / FILES[key])
    written += [dpath / name for name in FILES.values()]
    for stale in dpath.glob("*.pkl"):  # pykt caches parsed CSVs next to them
        stale.unlink()
    data_cfg[dataset] = {
        "dpath": f"../data/{dataset}",
        "num_q": int(ds.n_questions),
        "num_c": int(ds.n_skills),
        "input_type": ["questions", "concepts"],
        "max_concepts": 1,
        "min_seq_len": 3,
        "maxlen": int(ds.questions.shape[1]),
        "emb_path": "",
        **FILES,
        "folds": list(range(folds)),
    }
    _dump(data_cfg_path, data_cfg)
    written.append(data_cfg_path)
    kept = []
    kt_cfg = root / "configs" / "kt_config.json"
    if kt_cfg.exists():
        kept.append(kt_cfg)
    else:
        train_config = {"batch_size": 64, "num_epochs": epochs, "optimizer": "adam"}
        _dump(kt_cfg, {"train_config": {**train_config, "seq_len": seq_len}})
        written.append(kt_cfg)
    if scripts:
        for name, text in launcher_files().items():
            path = root / "examples" / name
            if path.exists():
                kept.append(path)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return Export(root, dataset, written, kept)
