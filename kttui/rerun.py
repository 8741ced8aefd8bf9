"""The exact command that ran a trial, kept so a user can re-run it by hand.

Debugging a failed trial starts with running it outside the sweep. The runner
writes the argv, working directory and the environment variables kttui set
(those that differ from its own environment) to ``command.json`` in the trial
directory; the detail screen shows them as one shell-quoted line.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kttui.session import write_json_atomic

FILE_NAME = "command.json"


@dataclass(frozen=True)
class Rerun:
    argv: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)

    def shell(self) -> str:
        """One line to paste into a shell: cd, the env vars kttui set, the argv."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        command = shlex.join(self.argv)
        return f"cd {shlex.quote(self.cwd)} && " + (f"env {env} {command}" if env else command)


def save(
    trial_dir: Path,
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    inherited: Mapping[str, str],
) -> None:
    """Record a trial's command; ``inherited``: the runner's own environment."""
    own = {k: v for k, v in env.items() if inherited.get(k) != v}
    write_json_atomic(trial_dir / FILE_NAME, {"argv": list(argv), "cwd": str(cwd), "env": own})


def load(trial_dir: Path) -> Rerun | None:
    """The recorded command, or None (an older session, or a damaged file)."""
    try:
        raw = json.loads((trial_dir / FILE_NAME).read_text(encoding="utf-8"))
        argv = [str(a) for a in raw["argv"]]
        env = {str(k): str(v) for k, v in dict(raw.get("env") or {}).items()}
        return Rerun(argv, str(raw["cwd"]), env)
    except (OSError, ValueError, KeyError, TypeError):
        return None
