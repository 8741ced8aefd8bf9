"""Helpers shared by the benchmarks: a throwaway store, a spec on disk, a runner in-process."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kttui.runner import Runner
from kttui.session import Session
from kttui.specload import load_spec


def run_sweep(spec: dict[str, Any]) -> tuple[Session, float]:
    """Run a sweep in this process; return its session and wall time (runner only)."""
    tmp = Path(tempfile.mkdtemp(prefix="kttui-bench-"))
    path = tmp / "spec.yaml"
    yaml = YAML(typ="safe", pure=True)
    with open(path, "w") as fh:
        yaml.dump(spec, fh)
    loaded = load_spec(path)
    session = Session.create(
        tmp / "store",
        loaded.spec,
        loaded.text,
        extra={"launch_dir": str(tmp), "spec_dir": str(tmp)},
    )
    start = time.perf_counter()
    code = Runner(session, loaded).run()
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"sweep failed: {(session.runner() or {}).get('reason')}")
    return session, wall


def time_command(argv: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms (min {min(values) * 1000:.1f})"


PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent
