"""The evaluation step: commands run after a trial's training succeeds (test AUC).

A spec's ``evaluate`` commands (pykt: ``wandb_predict.py --save_dir ...``) run in
the trial's own job, so they get the same slot, GPUs, working directory and
environment, and the same placeholders. The runner launches
``python -P -m kttui.evaluate PLAN`` instead of the training command when a spec
has them: this wrapper runs training with the trial's stdio (so epochs stream
as before), then each evaluation command with its output in ``evaluate.log``,
and writes ``evaluation.json``: the final metrics read from that output (with
the spec's own metric format) and whether every command succeeded. The runner
merges those metrics into the trial's final metrics and fails the trial with
"evaluation failed" (keeping its training curve) when a command did not.

Training's exit is passed through unchanged (its code, or its signal), so a
failed or killed training reads exactly as without an evaluation step.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kttui.atomicfile import write_json_atomic
from kttui.command import build_argv
from kttui.metricparse import LineParser

PLAN = "evaluate.json"
OUTCOME = "evaluation.json"
LOG = "evaluate.log"
FAILED = "evaluation failed"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    final: dict[str, float] = field(default_factory=dict)
    detail: str = ""


def wrap(
    argv: list[str],
    commands: list[list[str]],
    config: dict[str, Any],
    builtins: dict[str, Any],
    metrics: tuple[str, str | None],
    tdir: Path,
) -> list[str]:
    """The argv to launch: ``argv`` itself, or the wrapper running it then ``commands``."""
    if not commands:
        return argv
    steps = [build_argv(c, config, builtins, "none") for c in commands]
    plan = {"train": argv, "evaluate": steps, "format": metrics[0], "pattern": metrics[1]}
    (tdir / PLAN).write_text(json.dumps(plan, indent=1) + "\n", encoding="utf-8")
    (tdir / OUTCOME).unlink(missing_ok=True)
    return [sys.executable, "-P", "-m", "kttui.evaluate", str(tdir / PLAN)]


def outcome(tdir: Path) -> Outcome:
    """What the wrapper recorded; none at all (it was killed, or crashed) is a failure."""
    try:
        data = json.loads((tdir / OUTCOME).read_text(encoding="utf-8"))
        final = {str(k): float(v) for k, v in data.get("final", {}).items()}
        return Outcome(bool(data["ok"]), final, str(data.get("detail", "")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Outcome(False, {}, f"no {OUTCOME} written")


def record_final(metrics_file: Path, final: dict[str, float]) -> None:
    """Add a ``{"final": ...}`` line, so readers of metrics.jsonl (the console's trial
    detail) see final metrics parsed from output (pykt) or an evaluation step."""
    if final:
        with open(metrics_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"final": final}) + "\n")


def planned_commands(tdir: Path) -> list[list[str]]:
    """The evaluation argvs of a trial, placeholders filled (for reports)."""
    try:
        steps = json.loads((tdir / PLAN).read_text(encoding="utf-8"))["evaluate"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [list(map(str, s)) for s in steps if isinstance(s, list)]


def expand(arg: str) -> str:
    """An argument holding ``*`` is a glob, matched now that training has written its
    files; ``**`` recurses, and a pattern ending in ``/`` matches the innermost
    folders only (pykt nests its save dir under a folder named after every flag).
    It must match exactly one path, else the step fails with the matches counted."""
    if "*" not in arg:
        return arg
    found = sorted(glob.glob(arg, recursive=True))
    if arg.endswith("/"):
        dirs = [f.rstrip("/") for f in found]
        found = [d for d in dirs if not any(o.startswith(d + "/") for o in dirs)]
    if len(found) != 1:
        raise ValueError(f"{arg!r} matches {len(found)} paths, not one")
    return found[0]


def _exit_like(code: int) -> int:
    """Leave the way training left: by the same signal, or with the same code."""
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def run_plan(plan_path: Path) -> int:
    tdir = plan_path.parent
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    code = subprocess.call(plan["train"])
    if code != 0:
        return _exit_like(code)
    parser = LineParser(plan["format"], plan.get("pattern"))
    final: dict[str, float] = {}
    detail = ""
    with open(tdir / LOG, "a+", encoding="utf-8", errors="replace") as log:
        for i, step in enumerate(plan["evaluate"]):
            start = log.tell()
            try:
                argv = [expand(a) for a in step]
                rc = subprocess.call(argv, stdout=log, stderr=subprocess.STDOUT)
            except (OSError, ValueError) as exc:
                rc, detail = 127, f"command {i + 1} ({step[0]}): {exc}"
            log.flush()
            log.seek(start)
            for line in log.read().splitlines():
                parsed = parser.parse(line)
                if parsed:
                    final.update(parsed.values)
            if rc != 0:
                detail = detail or f"command {i + 1} ({step[0]}) exited with code {rc}"
                log.write(f"kttui: {FAILED}: {detail}\n")
                break
    result = {"ok": not detail, "final": final, "detail": detail}
    write_json_atomic(tdir / OUTCOME, result, indent=None)
    return 0


if __name__ == "__main__":
    sys.exit(run_plan(Path(sys.argv[1])))
