"""The local backend makes the runner's process the reaper of orphaned trial processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import ctypes
    from kttui.backends.base import BackendConfig
    from kttui.backends.local import LocalBackend

    libc = ctypes.CDLL(None, use_errno=True)

    def subreaper() -> int:
        flag = ctypes.c_int(-1)
        assert libc.prctl(37, ctypes.byref(flag), 0, 0, 0) == 0  # PR_GET_CHILD_SUBREAPER
        return flag.value

    backend = LocalBackend(BackendConfig(cpu_slots=1))
    before = subreaper()  # building a backend (the console does) changes nothing
    backend.adopt_process()
    print(before, subreaper())
    """
)


def test_adopt_process_makes_the_runner_a_subreaper_only_when_asked() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["0", "1"]
