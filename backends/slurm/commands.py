"""How the SLURM backend runs SLURM's commands, and what it counts about them.

Every command goes through one :class:`CommandRunner` (argv, never a shell), which
the backend takes as an argument: the real one runs the binaries, a test passes a
scripted one and so drives the backend through states a cluster rarely shows.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kttui.backends.base import BackendError

COMMAND_TIMEOUT_S = 60.0


class CommandRunner(Protocol):
    """Runs one SLURM command (argv, never a shell) and returns its result."""

    def __call__(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]: ...


def run_command(
    argv: Sequence[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The default :class:`CommandRunner`: no shell, no stdin, a timeout."""
    return subprocess.run(
        list(argv),
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


@dataclass
class QueueStats:
    """Commands run so far, and the last errors SLURM gave (for status displays)."""

    squeue_calls: int = 0
    sbatch_calls: int = 0
    other_calls: int = 0
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors.append(message)
        del self.errors[:-20]

    def count(self, command: str) -> None:
        if command == "squeue":
            self.squeue_calls += 1
        elif command == "sbatch":
            self.sbatch_calls += 1
        else:
            self.other_calls += 1


def run_counted(
    run_cmd: CommandRunner,
    stats: QueueStats,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command through ``run_cmd``; a missing binary or a hang becomes a BackendError."""
    stats.count(argv[0])
    try:
        return run_cmd(argv, env) if env is not None else run_cmd(argv)
    except FileNotFoundError:
        raise BackendError(
            f"{argv[0]} not found: run kttui on a SLURM login node (or install slurm-client)"
        ) from None
    except subprocess.TimeoutExpired:
        raise BackendError(f"{argv[0]} did not answer in {COMMAND_TIMEOUT_S:g} s") from None
