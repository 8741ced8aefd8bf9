"""Sixty seconds of random keys through a real terminal (tmux, 200×50, xterm-256color).

The sweep reproduces issue 11's crash: four fake GPUs and trials that wait
2.5 s before their first epoch, so the selected running trial often has no
point yet while the curves chart is on screen. The console must still be alive
at the end with no traceback on screen.
"""

from __future__ import annotations

import random
import shutil
import sys
import time
from pathlib import Path

import pytest

from kttui.session import Session
from tests.conftest import ROOT, kttui, wait_for, write_spec
from tests.test_tui_soak import binding_keys
from tests.test_tui_tmux import Tmux, tmux  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)"),
    pytest.mark.timeout(180),
]
SOAK_S = 60.0
#: Textual key names -> tmux send-keys names.
TMUX_KEYS = {
    "slash": "/",
    "question_mark": "?",
    "tab": "Tab",
    "shift+tab": "BTab",
    "enter": "Enter",
    "escape": "Escape",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "pageup": "PPage",
    "pagedown": "NPage",
    "home": "Home",
    "end": "End",
    "backspace": "BSpace",
}


def tmux_key(key: str) -> str | None:
    """tmux's name for a Textual key, or None when tmux has none (it would type the letters)."""
    if key in TMUX_KEYS:
        return TMUX_KEYS[key]
    if len(key) == 1:
        return key
    if key.startswith("ctrl+") and len(key) == 6:
        return f"C-{key[-1]}"
    return None


def tmux_keys() -> list[str]:
    # the palette is soaked by Pilot; here a typed word + enter could run "Quit"
    names = (tmux_key(k) for k in binding_keys() if k != "ctrl+p")
    return sorted({n for n in names if n is not None})


def test_sixty_seconds_of_random_keys_at_200x50(
    tmux: Tmux,  # noqa: F811
    store: Path,
    tmp_path: Path,
) -> None:
    spec = write_spec(
        tmp_path / "spec.yaml",
        fixed={"epochs": 400, "epoch_s": 2.5},
        strategy={"n_trials": 40},
        resources={"gpus": "auto", "cpu_slots": 4},
    )
    env = {
        "KTTUI_HOME": str(store),
        "KTTUI_FAKE_GPUS": "4",
        "TERM": "xterm-256color",
        "PYTHONPATH": str(ROOT),
    }
    assert kttui("run", str(spec), "--sessions-dir", str(store), env=env).returncode == 0
    session = Session.open(store, None)
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    tmux(
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "50",
        f"env {exports} {sys.executable} -m kttui attach",
    )
    tmux("set-option", "-g", "remain-on-exit", "on")
    wait_for(lambda: session.id[:10] in tmux.screen(), timeout=30)
    rng = random.Random(5)
    keys = tmux_keys()
    sent = 0
    deadline = time.monotonic() + SOAK_S
    while time.monotonic() < deadline:
        tmux("send-keys", rng.choice(keys))
        sent += 1
        if tmux("display-message", "-p", "#{pane_dead}").strip() == "1":
            break
        time.sleep(rng.uniform(0.0, 0.1))
    screen = tmux.screen()
    dead = tmux("display-message", "-p", "#{pane_dead} #{pane_dead_status}").strip()
    assert dead.startswith("0"), f"the console exited ({dead}) after {sent} keys:\n{screen}"
    assert "Traceback" not in screen, screen
    assert not (session.path / "console.log").exists(), (session.path / "console.log").read_text()
    assert sent > 100
