"""What the runner's tests share: finding the one session, its study, its files, its status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna

from kttui.session import Session, list_sessions
from tests.conftest import kttui, wait_for


def only_session(store: Path) -> Session:
    sessions = list_sessions(store)
    assert len(sessions) == 1
    return sessions[0]


def study_of(session: Session) -> optuna.Study:
    return optuna.load_study(study_name="t", storage=f"sqlite:///{session.db_path}")


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def metric_lines(session: Session, number: int) -> list[dict[str, Any]]:
    return records(session.trial_dir(number) / "metrics.jsonl")


def runner_status(store: Path) -> dict[str, Any]:
    """``kttui status --json``: what the CLI (and so the user) sees."""
    proc = kttui("status", "--json", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def two_loop_turns(session: Session, after: float, timeout: float = 30) -> None:
    """Return once the runner's loop has run a whole turn that began after ``after``.

    The runner rewrites runner.json from its loop, before launching; a second write
    after the first one past ``after`` means a turn that could have launched has ended.
    Fails if the runner stops beating.
    """

    def beat() -> float:
        return float((session.runner() or {}).get("heartbeat") or 0.0)

    first = wait_for(lambda: beat() > after and beat(), timeout=timeout)
    wait_for(lambda: beat() > first, timeout=timeout)
