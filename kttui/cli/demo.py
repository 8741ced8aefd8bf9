"""``kttui demo``: a real knowledge-tracing sweep on this machine's CPUs, from nothing.

It writes ``specs/kt-demo.yaml`` when absent, generates the synthetic students
once (numpy only, cached in the session store, with the oracle and trivial
baseline AUCs printed), and runs DKT/SAKT trials with TPE and ASHA pruning.
On a terminal it opens the console on the session; otherwise it shows a
progress bar and prints the best trial against the two reference AUCs.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import sys
from pathlib import Path
from typing import Any

from kttui.cli import fail

DEMO_SPEC = """\
# The kttui demo: DKT and SAKT on synthetic students (2 000 x 50 interactions), on CPUs.
# Written by `kttui demo`; edit it freely (delete it to get this version back).
name: kt-demo
description: Embedded KT trainer on synthetic data with a learning effect (IRT-style).
objective: {metric: val_auc, direction: maximize, summary: best}
# The trainer reads every param as --name value (pass_params: flags); the data is
# generated once and cached next to the sessions.
command: ["{python}", -m, kttui.kt.train, --data, synthetic, --n_students, "2000",
          --seq_len, "50", --data_seed, "0", --data-cache, "{session_dir}/../.cache/kt",
          --out, "{trial_dir}"]
pass_params: flags
space:
  model: {type: categorical, choices: [dkt, sakt]}
  learning_rate: {type: float, low: 1.0e-4, high: 3.0e-2, log: true}
  d_model: {type: categorical, choices: [32, 64, 128]}
  n_layers: {type: int, low: 1, high: 2}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.1}
fixed: {epochs: 8, patience: 2, batch_size: 64, n_heads: 4, seed: 0}
derived: {d_ff: "d_model * 2"}
constraints: ["d_model % n_heads == 0"]
strategy: {sampler: tpe, n_trials: 16, seed: 0}
pruner: {type: asha, min_epochs: 2, reduction_factor: 2}
resources: {backend: local, gpus: 0, cpu_slots: auto, timeout_min: 10}
"""
DEMO_SPEC_PATH = Path("specs") / "kt-demo.yaml"


def _spec_text(path: Path, trials: int | None, students: int | None) -> str:
    text = path.read_text(encoding="utf-8")
    if trials is None and students is None:
        return text
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    data: Any = yaml.load(text)
    if trials is not None:
        data["strategy"]["n_trials"] = trials
    if students is not None:
        cmd = data["command"]
        if "--n_students" in cmd:
            cmd[cmd.index("--n_students") + 1] = str(students)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _reference(store: Path, students: int) -> dict[str, float]:
    """Generate (or reuse) the demo data in the store's cache; return the reference AUCs."""
    from kttui.kt.splits import split_students
    from kttui.kt.synthetic import load_or_generate

    cache = store.resolve() / ".cache" / "kt"
    ds = load_or_generate(cache, students, 50, 12, 120, 0)
    split = split_students(ds.chunked(50), seed=0)
    refs = {"baseline_auc": float(split.baseline_auc)}
    if split.oracle_auc is not None:
        refs["oracle_auc"] = float(split.oracle_auc)
    return refs


def cmd_demo(args: argparse.Namespace) -> int:
    from kttui.service import ServiceError
    from kttui.service.sessions import new_session
    from kttui.session import default_store
    from kttui.specload import SpecError, load_spec_text

    if importlib.util.find_spec("torch") is None:
        return fail(
            "the demo trains real models with torch, which is not installed: "
            "pip install 'kttui[kt]' (or: pip install torch==2.13.0)"
        )
    spec_path = Path(args.spec) if args.spec else DEMO_SPEC_PATH
    if not spec_path.exists():
        if args.spec:
            return fail(f"no such spec file: {spec_path}")
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(DEMO_SPEC, encoding="utf-8")
        print(f"wrote {spec_path}")
    try:
        text = _spec_text(spec_path, args.trials, args.students)
        loaded = load_spec_text(text, str(spec_path))
    except SpecError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    store = default_store(args.sessions_dir)
    students = args.students or 2000
    refs = _reference(store, students)
    print(
        f"synthetic students: {students} x 50 interactions; "
        f"oracle AUC {refs.get('oracle_auc', float('nan')):.4f}, "
        f"trivial baseline AUC {refs['baseline_auc']:.4f}"
    )
    try:
        session = new_session(store, loaded, spec_path, extra=_reference_lines(loaded.spec, refs))
    except ServiceError as exc:
        return fail(str(exc))
    if _use_tui(args):
        from kttui.cli.run import _detached

        code = _detached(session, resume=False, cwd=Path.cwd(), fork=False)  # (numpy, its data)
        if code:
            return code
        from kttui.cli.tui import open_dashboard

        code = int(open_dashboard(session))
        _print_demo_result(session, refs)  # the terminal is back: the outcome stays visible
        return code
    from kttui.cli.run import _foreground

    code = _foreground(session, resume=False)
    _print_demo_result(session, refs)
    return code


def _reference_lines(spec: Any, refs: dict[str, float]) -> dict[str, Any]:
    """Session info making the trivial and oracle AUCs the charts' baseline and target."""
    extra: dict[str, Any] = {"demo": refs}
    if spec.baseline is None:
        label = "trivial baseline"
        extra["baseline"] = {"value": refs["baseline_auc"], "params": None, "label": label}
    if spec.target is None and "oracle_auc" in refs:
        extra["target"] = refs["oracle_auc"]
        extra["target_label"] = "oracle"
    return extra


def _use_tui(args: argparse.Namespace) -> bool:
    return (
        not args.no_tui
        and sys.stdin.isatty()
        and sys.stdout.isatty()
        and importlib.util.find_spec("kttui.cli.tui") is not None
    )


def best_test_auc(session: Any) -> tuple[int, float] | None:
    """(trial, test AUC) of the trial with the best objective, from its eval_results.json."""
    from kttui.session import summarize

    best = summarize(session).get("best_trial")
    if best is None:
        return None
    try:
        results = json.loads((session.trial_dir(best) / "eval_results.json").read_text())
    except (OSError, ValueError):
        return None
    return int(best), float(results["test_auc"])


def _print_demo_result(session: Any, refs: dict[str, float]) -> None:
    # quitting the console leaves the detached runner going: say so, and how to come back
    going = session.runner_alive()
    if going:
        print(
            f"the sweep goes on in the background: `kttui attach {session.id}` to watch it, "
            f"`kttui stop {session.id}` to stop it"
        )
    found = best_test_auc(session)
    if found is None:
        if not going:
            print("no trial finished: see `kttui status` and the trials' stderr.log")
        return
    trial, auc = found
    print(
        f"best trial {'so far ' if going else ''}{trial}: test AUC {auc:.4f} "
        f"(trivial baseline {refs['baseline_auc']:.4f}, oracle {refs.get('oracle_auc', 0):.4f})"
    )
