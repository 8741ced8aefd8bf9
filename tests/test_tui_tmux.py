"""The console in a real terminal: tmux at 80×24, keys sent, the screen read back.

Then the tmux server is killed (what losing an SSH session does to a console)
and the sweep must go on, and a new `kttui attach` must show it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kttui.session import Session
from tests.conftest import ROOT, kttui, wait_for, write_spec

pytestmark = [
    pytest.mark.usefixtures("needs_tmux"),
    pytest.mark.timeout(120),
]
ROW = re.compile(r"^\s*(\d+)\s+running\s+(\d+)\s", re.M)


def terminal_env() -> dict[str, str]:
    """The test's environment without COLUMNS and LINES.

    pytest's process has them (80x24); the tmux server would hand them to every pane,
    and Textual believes them over the terminal, so a 200x50 pane drew an 80x24 app.
    """
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=terminal_env(),
        )
        return out.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        self("new-session", "-d", "-x", "80", "-y", "24", f"env {exports} {command}")

    def screen(self) -> str:
        return self("capture-pane", "-p")

    def kill(self) -> None:
        self("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux(f"kttui-test-{os.getpid()}")
    yield t
    t.kill()


def running_epochs(screen: str) -> dict[int, int]:
    return {int(n): int(e) for n, e in ROW.findall(screen)}


def test_attach_in_tmux_survives_the_terminal(tmux: Tmux, store: Path, tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path / "spec.yaml",
        fixed={"epochs": 2000, "epoch_s": 0.05},
        strategy={"n_trials": 4},
        resources={"cpu_slots": 2},
    )
    assert kttui("run", str(spec), "--sessions-dir", str(store)).returncode == 0
    session = Session.open(store, None)
    env = {"KTTUI_HOME": str(store), "TERM": "tmux-256color", "PYTHONPATH": str(ROOT)}
    command = f"{sys.executable} -m kttui attach"
    tmux.start(command, env)

    # the dashboard shows running trials whose epoch count rises
    first = wait_for(lambda: running_epochs(tmux.screen()), timeout=30)
    number = min(first)
    try:
        wait_for(lambda: running_epochs(tmux.screen()).get(number, 0) > first[number] + 5, 30)
    except AssertionError:
        print(tmux.screen())
        raise
    screen = tmux.screen()
    assert session.id[:10] in screen and "running" in screen
    assert len(screen.splitlines()) <= 24 and max(len(line) for line in screen.splitlines()) <= 80

    # keys reach it: c shows the chart tab, tab goes on to the log, ? opens help
    tmux("send-keys", "c")
    wait_for(lambda: "best so far" in tmux.screen(), 15)
    tmux("send-keys", "Tab")
    wait_for(lambda: "Log #" in tmux.screen(), 15)  # the log tab, titled by its trial
    tmux("send-keys", "?")
    wait_for(lambda: "Sweep dashboard" in tmux.screen(), 15)
    tmux("send-keys", "Escape")

    # the terminal goes away: the console dies with it, the sweep does not
    tmux.kill()
    before = (session.trial_status(number) or {}).get("epoch") or 0
    wait_for(lambda: ((session.trial_status(number) or {}).get("epoch") or 0) > before + 5, 30)
    assert session.runner_alive() and session.state() == "running"

    # a new console attaches to it, on the pane it was left on (the log), and goes
    # back to the trials two panes to the left
    tmux.start(command, env)
    wait_for(lambda: "Advice" in tmux.screen() and "Trials" in tmux.screen(), 30)  # the tabs
    tmux("send-keys", "BTab")
    wait_for(lambda: "best so far" in tmux.screen(), 15)
    tmux("send-keys", "BTab")
    again = wait_for(lambda: running_epochs(tmux.screen()), timeout=30)
    assert again.get(number, 0) > first[number]
    tmux("send-keys", "q")
    wait_for(lambda: not tmux("list-sessions").strip(), timeout=15)
    assert session.runner_alive()
    kttui("shutdown", session.id, "--sessions-dir", str(store))
    wait_for(lambda: not session.runner_alive(), timeout=30)


def test_a_pane_gives_programs_its_own_size(tmux: Tmux) -> None:
    """The size tests ask for is the size the console sees (not pytest's COLUMNS/LINES)."""
    probe = "import shutil, time; print('size', *shutil.get_terminal_size()); time.sleep(30)"
    tmux("new-session", "-d", "-x", "200", "-y", "50", f"{sys.executable} -c {probe!r}")
    assert wait_for(lambda: "size 200 50" in tmux.screen(), timeout=30)
