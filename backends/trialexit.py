"""The local trial's wrapper: run the command, write how it ended, end the same way.

Only a parent learns a child's exit status. A runner killed with SIGKILL is
no longer the parent of its trials, so a restarted runner could not tell a
trial that finished from one that crashed. This wrapper (the trial's process
leader, ``python -m kttui.backends.trialexit EXIT_FILE -- ARGV...``) writes
the status to ``EXIT_FILE`` atomically, as the SLURM batch script does, and
then exits with the same code or dies of the same signal, so a runner that is
still the parent sees exactly what it saw without the wrapper.

The wrapper catches SIGTERM/SIGINT/SIGHUP (a stop signals the whole tree; the
trial decides, the wrapper only records). Caught handlers are reset in the
child by ``exec``, so the trial keeps default signal behaviour. Nothing but
the standard library is imported: it costs one small interpreter per trial.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def write_record(path: str, returncode: int) -> None:
    """``{"exit_code": N, "signal": null}`` or ``{"exit_code": null, "signal": S}``.

    Not :mod:`kttui.atomicfile`: this file runs as a bare script (``python -I -S``),
    where no kttui module can be imported.
    """
    record = (
        {"exit_code": None, "signal": -returncode}
        if returncode < 0
        else {"exit_code": returncode, "signal": None}
    )
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    os.replace(tmp, path)


def read_record(path: str) -> tuple[int | None, int | None] | None:
    """(exit code, signal) written by :func:`write_record`, or None if there is none yet."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        code, sig = data.get("exit_code"), data.get("signal")
    except (OSError, ValueError, AttributeError):
        return None
    if not (isinstance(code, int) or isinstance(sig, int)):
        return None
    return (code if isinstance(code, int) else None, sig if isinstance(sig, int) else None)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m kttui.backends.trialexit EXIT_FILE -- ARGV...", file=sys.stderr)
        return 2
    exit_path, command = argv[0], argv[2:]
    for sig in _FORWARDED:
        signal.signal(sig, lambda *_: None)
    try:
        proc = subprocess.Popen(command)
    except OSError as exc:
        print(f"kttui: cannot start trial: {exc}", file=sys.stderr)
        write_record(exit_path, 127)
        return 127
    returncode = proc.wait()
    try:
        write_record(exit_path, returncode)
    except OSError as exc:  # a full disk: the parent (if any) still sees the status
        # unbuffered, and a failure ignored: a buffered stderr that cannot be flushed
        # at exit would turn the trial's own exit code into 120
        with contextlib.suppress(OSError):
            os.write(2, f"kttui: cannot write {exit_path}: {exc}\n".encode())
    if returncode >= 0:
        return returncode
    died_of = -returncode
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the trial dumped core already, if at all
    if died_of not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(died_of, signal.SIG_DFL)
    os.kill(os.getpid(), died_of)
    return 128 + died_of


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
