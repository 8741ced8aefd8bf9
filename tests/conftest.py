"""Shared helpers: spec files for the fake trainer, running the CLI, waiting on files."""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from kttui.backends.base import read_proc_stat
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
TRAINER = ROOT / "tests" / "progs" / "trainer.py"

BASE_SPEC: dict[str, Any] = {
    "name": "t",
    "objective": {"metric": "score", "direction": "maximize", "summary": "best"},
    "command": ["{python}", str(TRAINER)],
    "pass_params": "none",
    "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
    "fixed": {"epochs": 3, "epoch_s": 0.02},
    "strategy": {"sampler": "random", "n_trials": 4, "seed": 0},
    "resources": {"backend": "local", "cpu_slots": 2, "kill_grace_s": 2},
}


#: .ci/run sets it: a server or tool the tests need that is missing is then a failure
REQUIRE_SERVERS_ENV = "KTTUI_REQUIRE_SERVERS"
MISSING = "[missing] "


def missing(reason: str) -> NoReturn:
    """The one way a test gives up for a missing server, tool or OS feature.

    A skip everywhere else (listed loudly at the end of the run); a failure where
    ``$KTTUI_REQUIRE_SERVERS=1``, so a CI run whose SLURM/PostgreSQL/tmux did not
    come up fails instead of passing with nothing tested.
    """
    if os.environ.get(REQUIRE_SERVERS_ENV) == "1":
        pytest.fail(f"{reason} (and ${REQUIRE_SERVERS_ENV}=1 requires it)", pytrace=False)
    pytest.skip(MISSING + reason)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reasons = sorted(
        {
            str(r.longrepr[2]).removeprefix("Skipped: ")
            for r in terminalreporter.stats.get("skipped", [])
            if isinstance(r.longrepr, tuple) and MISSING in str(r.longrepr[2])
        }
    )
    if reasons:
        terminalreporter.section("NOT TESTED: missing servers or tools", sep="!", red=True)
        for reason in reasons:
            terminalreporter.line(reason)
        terminalreporter.line(f"(${REQUIRE_SERVERS_ENV}=1 turns these skips into failures)")


@pytest.fixture
def needs_tmux() -> None:
    if shutil.which("tmux") is None:
        missing("needs tmux (apt-get install tmux)")


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and key not in ("space", "fixed", "derived")
        ):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write_spec(path: Path, **over: Any) -> Path:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with open(path, "w") as fh:
        yaml.dump(merge(BASE_SPEC, over), fh)
    return path


def kttui(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kttui", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
    )


def wait_for(pred: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def pid_alive(pid: int) -> bool:
    stat = read_proc_stat(pid)
    return stat is not None and stat.state != "Z"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    """A session store; any runner or trial left behind by a test is killed."""
    path = tmp_path / "store"
    path.mkdir()
    yield path
    from kttui.backends import proctree

    from kttui.session import list_sessions

    for session in list_sessions(path):
        info = session.runner() or {}
        if session.runner_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(info["pid"]), signal.SIGKILL)
        proctree.kill_now(proctree.find_processes(prefix=f"{session.trial_key}:"))
