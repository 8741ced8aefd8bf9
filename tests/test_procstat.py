"""The one /proc/PID/stat parser (kttui.backends.base): odd command names, zombies, reuse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kttui.backends import proctree
from kttui.backends.base import ProcStat, parse_proc_stat, process_start_time, read_proc_stat

from kttui.session import pid_alive
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(120)

TAIL = "S 100 200 300 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"42 (python) {TAIL}", ProcStat("S", 100, 200, 300, 987654)),
        (f"42 (my cmd) {TAIL}", ProcStat("S", 100, 200, 300, 987654)),
        (f"42 (a) b (c)) {TAIL}", ProcStat("S", 100, 200, 300, 987654)),  # ") " inside
        (f"42 ((()) {TAIL}", ProcStat("S", 100, 200, 300, 987654)),
        (f"42 (x 1 2 3 4) {TAIL}", ProcStat("S", 100, 200, 300, 987654)),  # digits inside
        (f"42 () {TAIL}", ProcStat("S", 100, 200, 300, 987654)),
        (f"42 (z) Z{TAIL[1:]}", ProcStat("Z", 100, 200, 300, 987654)),
        (f"42 (t) {TAIL}\n", ProcStat("S", 100, 200, 300, 987654)),
        ("", None),
        ("42 no parentheses at all", None),
        ("42 (short) S 1 2", None),  # cut short: no start time
        (f"42 (bad) S x 200 300 {TAIL[14:]}", None),  # not a number
    ],
)
def test_parse(line: str, expected: ProcStat | None) -> None:
    assert parse_proc_stat(line) == expected


def test_own_process() -> None:
    st = read_proc_stat(os.getpid())
    assert st is not None and st.state in ("R", "S") and st.ppid == os.getppid()
    assert process_start_time(os.getpid()) == st.start_time > 0


def test_no_such_process() -> None:
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    assert read_proc_stat(gone.pid) is None
    assert process_start_time(gone.pid) is None
    assert not proctree.alive(gone.pid) and not pid_alive(gone.pid)


def test_a_command_named_with_spaces_and_parentheses(tmp_path: Path) -> None:
    """A real process whose name is ``a) (b c`` (what comm shows of the executable)."""
    odd = tmp_path / "a) (b c"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", odd)
    proc = subprocess.Popen([str(odd), "60"], start_new_session=True)
    try:
        st = wait_for(lambda: read_proc_stat(proc.pid), timeout=60)
        assert st.ppid == os.getpid() and st.pgid == proc.pid and st.sid == proc.pid
        assert st.state in ("R", "S")
        assert proctree.alive(proc.pid, st.start_time) and pid_alive(proc.pid, st.start_time)
        assert not proctree.alive(proc.pid, st.start_time + 1)  # a reused pid
        assert not pid_alive(proc.pid, st.start_time + 1)
        assert proc.pid in proctree.find_processes(roots=[proc.pid])
        proc.kill()
        # a zombie (not yet waited for) has finished: neither check calls it alive
        wait_for(lambda: (s := read_proc_stat(proc.pid)) is not None and s.state == "Z", 60)
        assert not proctree.alive(proc.pid) and not pid_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=60)
