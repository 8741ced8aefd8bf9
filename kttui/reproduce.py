"""What each trial ran, recorded at launch, so a report can show it to re-run by hand.

The runner fills a trial's placeholders, picks its working directory and sets
environment variables (the spec's ``env``, ``KTTUI_*``, ``PYTHONUNBUFFERED``);
``command.json`` in the trial directory keeps exactly those, and
:func:`shell_line` turns them into one line a user can paste:
``cd DIR && env K=V ... prog args``.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE = "command.json"


def record(tdir: Path, argv: list[str], cwd: Path, env: Mapping[str, str]) -> None:
    """Keep the argv, the cwd, and the variables that differ from the runner's own."""
    ours = {k: v for k, v in env.items() if os.environ.get(k) != v}
    data = {"argv": argv, "cwd": str(cwd), "env": ours}
    (tdir / FILE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def read(tdir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((tdir / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("argv"), list)
    return data if ok else None


def shell_line(data: Mapping[str, Any]) -> str:
    argv = [str(a) for a in data.get("argv") or []]
    env = data.get("env") or {}
    parts = []
    if data.get("cwd"):
        parts.append(f"cd {shlex.quote(str(data['cwd']))} &&")
    if env:
        parts.append("env " + " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items()))
    parts.append(shlex.join(argv))
    return " ".join(parts)


def trial_lines(tdir: Path) -> str:
    """The training line and then each evaluation line (same cwd and env), or ""."""
    from kttui.evaluate import planned_commands

    data = read(tdir)
    if data is None:
        return ""
    steps = [data["argv"], *planned_commands(tdir)]
    return "\n".join(shell_line({**data, "argv": argv}) for argv in steps)
