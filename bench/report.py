"""`kttui report` on a synthetic 10 000-trial session: load + analyse + render. Goal: < 5 s.

The session is written to disk the way the runner writes one (status.json and
metrics.jsonl per trial), so the figure includes reading it, not only rendering.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from pathlib import Path

from kttui.analysis.load import load_session
from kttui.report import render_report
from kttui.session import Session
from kttui.specload import load_spec_text

SPEC = """\
name: bench-report
objective: {metric: val_auc, direction: maximize}
baseline: {value: 0.70}
command: [python, train.py]
space:
  lr: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}
  d_model: {type: categorical, choices: [64, 128, 256, 512]}
  n_layers: {type: int, low: 1, high: 6}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.05}
  use_bias: {type: bool}
strategy: {sampler: tpe, n_trials: 10000, seed: 0}
"""


def write_session(root: Path, n: int, epochs: int) -> Session:
    loaded = load_spec_text(SPEC)
    session = Session.create(root, loaded.spec, SPEC)
    rng = random.Random(0)
    for i in range(n):
        p = {
            "lr": 10 ** rng.uniform(-5, -2),
            "d_model": rng.choice([64, 128, 256, 512]),
            "n_layers": rng.randint(1, 6),
            "dropout": round(rng.randrange(0, 11) * 0.05, 2),
            "use_bias": rng.random() < 0.5,
        }
        top = 0.75 - 0.01 * (math.log10(p["lr"]) + 3.5) ** 2 - 0.05 * (p["dropout"] - 0.2) ** 2
        top += 0.004 * math.log2(p["d_model"] / 64) + (0.003 if p["use_bias"] else 0)
        pruned = rng.random() < 0.3
        n_ep = rng.randint(2, 6) if pruned else epochs
        curve = [top - 0.2 * 0.6**e + rng.gauss(0, 0.003) for e in range(1, n_ep + 1)]
        tdir = session.trial_dir(i)
        tdir.mkdir()
        with open(tdir / "metrics.jsonl", "w") as fh:
            for e, v in enumerate(curve, 1):
                fh.write(json.dumps({"epoch": e, "val_auc": v, "train_loss": 1 - v}) + "\n")
        status = {
            "number": i,
            "state": "pruned" if pruned else "complete",
            "params": p,
            "value": max(curve),
            "epochs": n_ep,
            "duration_s": 30.0 * n_ep,
        }
        (tdir / "status.json").write_text(json.dumps(status))
    return session


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    session = write_session(
        Path(tempfile.mkdtemp(prefix="kttui-bench-report-")), args.n, args.epochs
    )
    t0, c0 = time.perf_counter(), time.process_time()
    table = load_session(session)
    t1 = time.perf_counter()
    spec = load_spec_text(SPEC).spec.model_dump(mode="json", exclude_none=True)
    text = render_report(table, spec=spec)
    t2, c2 = time.perf_counter(), time.process_time()
    # CPU seconds too: on a loaded machine the wall clock measures the neighbours.
    print(
        f"{args.n} trials x {args.epochs} epochs (30 % pruned): load {t1 - t0:.2f} s, "
        f"analyse + render {t2 - t1:.2f} s, total {t2 - t0:.2f} s (goal < 5 s; "
        f"CPU {c2 - c0:.2f} s); {len(text.splitlines())} lines of Markdown"
    )


if __name__ == "__main__":
    main()
