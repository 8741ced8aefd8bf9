"""Train one KT model as a kttui trial: ``python -m kttui.kt.train [--flag value ...]``.

Parameters come from the JSON file named by ``$KTTUI_PARAMS``, overridden by
argv. Per-epoch metrics go through :mod:`kttui.trial` so the runner can tail them
live. Parameter and data problems exit with status 2 and one line on stderr (a
sweep shows that line as the trial's failure reason) and are detected before
torch is imported, so invalid combinations fail in a fraction of a second.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from kttui import trial
from kttui.atomicfile import write_text_atomic
from kttui.kt import splits
from kttui.kt.params import ConfigError, TrainConfig, parse_config
from kttui.kt.synthetic import load_or_generate

PROG = "kttui.kt.train"
THREADS_ENV = "KTTUI_NUM_THREADS"
DATA_CACHE_ENV = "KTTUI_DATA_CACHE"
TRIAL_DIR_ENV = "KTTUI_TRIAL_DIR"
RESULTS = "eval_results.json"


def load_split(cfg: TrainConfig, environ: Mapping[str, str]) -> splits.Split:
    """The train/val/test split the config asks for (synthetic or a pykt CSV)."""
    if cfg.data == "synthetic":
        cache = cfg.data_cache or environ.get(DATA_CACHE_ENV) or default_cache_dir(environ)
        ds = load_or_generate(
            cache, cfg.n_students, cfg.seq_len, cfg.n_skills, cfg.n_questions, cfg.data_seed
        )
        return splits.split_students(ds.chunked(cfg.seq_len), seed=cfg.seed)
    from kttui.kt.pykt_data import load_pykt_csv

    ds = load_pykt_csv(cfg.data).chunked(cfg.seq_len)
    test = load_pykt_csv(cfg.test_data).chunked(cfg.seq_len) if cfg.test_data else None
    return splits.split_by_fold(ds, cfg.fold, seed=cfg.seed, test=test)


def default_cache_dir(environ: Mapping[str, str]) -> str:
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kttui", "kt")


def num_threads(environ: Mapping[str, str]) -> int:
    """Threads per trial: 1 by default, because a sweep runs trials side by side."""
    raw = environ.get(THREADS_ENV, "1")
    try:
        n = int(raw)
    except ValueError:
        raise ConfigError(f"${THREADS_ENV} must be an integer, got {raw!r}") from None
    if n < 1:
        raise ConfigError(f"${THREADS_ENV} must be >= 1, got {n}")
    return n


def one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return " ".join(str(exc).split())


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    try:
        cfg, warnings = parse_config(argv, env)
        threads = num_threads(env)
        for warning in warnings:
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
        split = load_split(cfg, env)
        out_dir = Path(cfg.out or env.get(TRIAL_DIR_ENV) or ".")
        out_dir.mkdir(parents=True, exist_ok=True)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    print(f"data {split.train.source or cfg.data}: {split.summary()}", flush=True)

    try:
        import torch
    except ModuleNotFoundError as exc:
        print(f"{PROG}: error: {exc}; install kttui's 'kt' extra (torch)", file=sys.stderr)
        return 2
    from kttui.kt import fit

    torch.set_num_threads(threads)
    results = fit.fit(cfg, split, out_dir)
    text = json.dumps(results, indent=2, allow_nan=True) + "\n"
    write_text_atomic(out_dir / RESULTS, text)
    trial.report_final(**results)
    fit.emit({"final": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
