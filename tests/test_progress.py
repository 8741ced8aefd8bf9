"""Progress output off a terminal: a line per 10 % or per 30 s, never a line per change."""

from __future__ import annotations

import io
import pty
import re
import select
import time
from pathlib import Path
from typing import BinaryIO

from kttui.cli.progress import Progress
from tests.conftest import kttui, write_spec

LINE = re.compile(r"^\[[#.]{24}\] (\d+)/(\d+) done, (\d+) running, state (\w+)$")


def status(done: int, running: int = 2, state: str = "running", budget: int = 200) -> dict:
    return {"budget": budget, "launched": done + running, "running": [0] * running, "state": state}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_off_a_terminal_a_line_per_tenth_of_the_budget_and_per_state() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("s", stream=out, clock=clock)
    for done in range(200):  # every trial of 200 ends 0.1 s after the last
        for running in (1, 2):  # each launch and each end is a change of the counts
            progress(status(done, running))
            clock.now += 0.05
    progress(status(200, 0, "finished"))
    progress.close()
    lines = out.getvalue().splitlines()
    done = [int(LINE.match(line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert done == [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200], lines
    assert lines[-1].endswith("200/200 done, 0 running, state finished")


def test_off_a_terminal_a_slow_sweep_still_says_something_every_30_s() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("s", stream=out, clock=clock)
    progress(status(0))
    for done in range(1, 5):  # 4 trials of 200, one every 20 s: under 10 % in 80 s
        clock.now += 20
        progress(status(done))
    assert [int(LINE.match(x).group(1)) for x in out.getvalue().splitlines()] == [0, 2, 4]  # type: ignore[union-attr]
    clock.now += 3600  # nothing changed for an hour: nothing to say
    progress(status(4))
    assert len(out.getvalue().splitlines()) == 3


def test_off_a_terminal_the_last_line_held_back_is_written_on_close() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("s", stream=out, clock=clock)
    progress(status(0, state="stopping"))
    progress(status(3, 0, state="stopping"))  # held back: same state, 1.5 %, 0 s
    progress.close()
    assert out.getvalue().splitlines()[-1].endswith("3/200 done, 0 running, state stopping")


def read_until(stream: BinaryIO, end: bytes, timeout: float = 30.0) -> bytes:
    """What a pty has to say up to ``end``: one read may return only part of it."""
    got = b""
    deadline = time.monotonic() + timeout
    while not got.endswith(end) and time.monotonic() < deadline:
        if select.select([stream], [], [], 0.5)[0]:
            got += stream.read(4096)
    return got


def test_on_a_terminal_every_change_redraws_the_one_bar() -> None:
    leader, follower = pty.openpty()
    with open(follower, "w", closefd=True) as tty, open(leader, "rb", buffering=0) as screen:
        progress = Progress("s", stream=tty)
        for done in range(5):
            progress(status(done))
        progress.close()
        written = read_until(screen, b"\n").decode()  # the pty writes each "\n" as "\r\n"
    assert written.count("\r[") == 5 and written.count("\n") == 1, repr(written)


def test_a_foreground_sweep_into_a_pipe_writes_few_lines(tmp_path: Path, store: Path) -> None:
    spec = write_spec(
        tmp_path / "s.yaml",
        fixed={"epochs": 1, "epoch_s": 0.01},
        strategy={"sampler": "random", "n_trials": 40, "seed": 0},
        resources={"backend": "local", "cpu_slots": 4},
    )
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    bars = [line for line in proc.stderr.splitlines() if LINE.match(line)]
    # one per 10 % (4 trials) at most, plus state changes and the 30 s rule on a slow box
    assert 2 <= len(bars) <= 16, proc.stderr
    assert bars[-1].startswith("[" + "#" * 24 + "] 40/40 done, 0 running"), bars
