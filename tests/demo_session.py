"""A synthetic session written straight to disk: a test and benchmark fixture (no runner).

Deterministic for a given seed and ``created`` time; no runner is started. Trials
listed in ``running`` get a ``running`` status and a growing metrics file is up
to the caller.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from kttui.session import Session

SPEC = """\
name: {name}
objective: {{metric: val_auc, direction: maximize, summary: best}}
baseline: {{value: 0.70, label: paper}}
target: 0.76
command: [python, train.py]
pass_params: flags
space:
  lr: {{type: float, low: 1.0e-4, high: 1.0e-2, log: true}}
  d_model: {{type: categorical, choices: [64, 128, 256]}}
  dropout: {{type: float, low: 0.0, high: 0.5, step: 0.05}}
fixed: {{epochs: {epochs}}}
strategy: {{sampler: random, n_trials: {trials}, seed: 0}}
resources: {{backend: local, gpus: 0, cpu_slots: 2}}
"""


def _curve(rng: random.Random, lr: float, d_model: int, dropout: float, epochs: int) -> list[float]:
    peak = 0.74 - 0.02 * abs(math.log10(lr) + 2.5) + 0.01 * (d_model == 128) - 0.03 * dropout
    rate = 0.25 + rng.random() * 0.2
    return [
        round(peak * (1 - 0.6 * math.exp(-rate * e)) + rng.gauss(0, 0.002), 5)
        for e in range(1, epochs + 1)
    ]


def write_demo_session(
    store: Path,
    *,
    name: str = "demo",
    trials: int = 40,
    epochs: int = 20,
    running: tuple[int, ...] = (),
    seed: int = 0,
    created: str = "2025-01-15T09:30:00.000+00:00",
    stamp: str = "20250115-093000",
    started: str = "2025-01-15T09:30:05",
) -> Session:
    """A finished (or, with ``running``, half-finished) sweep of ``trials`` trials."""
    rng = random.Random(seed)
    path = store / f"{name}-{stamp}"
    (path / "trials").mkdir(parents=True)
    session = Session(path.resolve())
    session.spec_path.write_text(SPEC.format(name=name, epochs=epochs, trials=trials))
    info = {
        "id": session.id,
        "name": name,
        "created": created,
        "source": None,
        "study_name": name,
        "storage": f"sqlite:///{session.db_path}",
        "objective": {"metric": "val_auc", "direction": "maximize", "summary": "best"},
        "baseline": {"value": 0.70, "params": None, "label": "paper"},
        "target": 0.76,
        "kind": "sweep",
    }
    session.info_path.write_text(json.dumps(info, indent=1))
    runner = {
        # no runner ever ran here: a host that is not this one keeps every reader
        # (and every cleanup) from looking for its process
        "pid": None,
        "host": "synthetic.invalid",
        "state": "finished",
        "reason": "",
        "budget": trials,
        "launched": trials,
        "started": created,
        "updated": created,
    }
    session.runner_path.write_text(json.dumps(runner, indent=1))
    events = []
    for n in range(trials):
        lr = round(10 ** rng.uniform(-4, -2), 6)
        d_model = rng.choice([64, 128, 256])
        dropout = round(rng.randrange(11) * 0.05, 2)
        params = {"lr": lr, "d_model": d_model, "dropout": dropout, "epochs": epochs}
        curve = _curve(rng, lr, d_model, dropout, epochs)
        tdir = session.trial_dir(n)
        tdir.mkdir()
        (tdir / "params.json").write_text(json.dumps(params))
        kind = rng.random()
        status: dict[str, object] = {
            "number": n,
            "params": params,
            "sampled": {k: params[k] for k in ("lr", "d_model", "dropout")},
            "slot": f"cpu{n % 2}",
            "gpus": [],
            "started": started,
            "attempt": 0,
        }
        if n in running:
            shown = curve[: max(1, epochs // 3)]
            state = "running"
        elif kind < 0.08:
            shown = curve[:2]
            state = "fail"
            status["reason"] = "exit code 1"
            status["exit_code"] = 1
            (tdir / "stderr.log").write_text(
                "Traceback (most recent call last):\nRuntimeError: CUDA out of memory\n"
            )
        elif kind < 0.25:
            shown = curve[:3]
            state = "pruned"
            status["reason"] = "pruned at epoch 3"
        else:
            shown = curve
            state = "complete"
        lines = [
            json.dumps({"epoch": e, "val_auc": v, "loss": round(1 - v, 5)})
            for e, v in enumerate(shown, 1)
        ]
        (tdir / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
        (tdir / "stdout.log").write_text(
            "".join(f"epoch {e} val_auc {v:.4f}\n" for e, v in enumerate(shown, 1))
        )
        status.update(
            state=state,
            epoch=len(shown),
            epochs=len(shown),
            current=shown[-1],
            best=max(shown),
        )
        if state != "running":
            status["duration_s"] = round(3.0 * len(shown) + n % 7, 3)
            status["exit_code"] = status.get("exit_code", 0)
        if state == "complete":
            status["value"] = max(shown)
        (tdir / "status.json").write_text(json.dumps(status))
        events.append({"t": created, "event": "launch", "trial": n})
        if state != "running":
            events.append({"t": created, "event": state, "trial": n})
    session.events_path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return session
