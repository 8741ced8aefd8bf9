"""`kttui demo` in a real terminal: its references stay on the charts and on the screen after quit.

The demo's two reference AUCs (a trivial per-question baseline and the oracle that
knows the simulated students' true skills) are what make its result readable. They
must be the labelled baseline and target lines of the console's charts, and when the
user quits, the terminal must show the best trial's test AUC beside both. Real torch
trials, a real detached runner, tmux as the terminal.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from kttui.safetext import format_value
from kttui.session import Session, list_sessions, summarize
from tests.conftest import ROOT, kttui, wait_for
from tests.test_tui_tmux import Tmux, tmux  # noqa: F401  (the fixture)

pytest.importorskip("torch")
pytestmark = [pytest.mark.usefixtures("needs_tmux"), pytest.mark.timeout(600)]

RESULT = re.compile(
    r"best trial (so far )?(\d+): test AUC (\d\.\d{4}) "
    r"\(trivial baseline (\d\.\d{4}), oracle (\d\.\d{4})\)"
)
DONE = "DEMO-EXIT="


def start_demo(term: Tmux, store: Path, cwd: Path, trials: int, size: tuple[int, int]) -> Session:
    """Start the demo in a detached tmux session; the demo's sweep session, once it exists."""
    env = {"TERM": "xterm-256color", "PYTHONPATH": str(ROOT), "KTTUI_HOME": str(store)}
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    demo = f"{sys.executable} -m kttui demo --trials {trials} --students 400 --sessions-dir {store}"
    # the shell stays after the demo, so its last lines and exit code can be read back
    term(
        "new-session", "-d", "-c", str(cwd), "-x", str(size[0]), "-y", str(size[1]),
        f"env {exports} {demo}; echo {DONE}$?; sleep 600",
    )  # fmt: skip
    wait_for(lambda: list_sessions(store), timeout=240)
    return list_sessions(store)[0]


def history(term: Tmux) -> str:
    """The whole pane, scrollback included (the demo prints before and after the console)."""
    return term("capture-pane", "-p", "-S", "-200")


def chart_shows(term: Tmux, title: str) -> str | None:
    """The screen once the chart titled ``title`` shows both reference labels, else None."""
    screen = term.screen()
    if f"Chart: {title}" in screen and "trivial baseline" in screen and "oracle 0." in screen:
        return screen
    return None


def show_chart(term: Tmux, title: str) -> str:
    """Press the chart key until the chart is on screen with both reference lines labelled."""
    for _ in range(8):
        try:
            return str(wait_for(lambda: chart_shows(term, title), timeout=20))
        except AssertionError:
            term("send-keys", "c")
    size = term("display-message", "-p", "#{window_width}x#{window_height}")
    raise AssertionError(f"no {title!r} chart with both references at {size}:\n{term.screen()}")


def test_the_demo_keeps_its_references_on_the_charts_and_prints_them_on_quit(
    tmux: Tmux,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = tmp_path / "sessions"
    session = start_demo(tmux, store, tmp_path, trials=3, size=(200, 50))
    refs = session.info()["demo"]
    learning = show_chart(tmux, "learning curves")
    assert f"trivial baseline {format_value(refs['baseline_auc'])}" in learning, learning
    wait_for(lambda: session.state() == "finished", timeout=400)
    best = show_chart(tmux, "best so far")
    assert f"oracle {format_value(refs['oracle_auc'])}" in best, best
    tmux("send-keys", "q")
    wait_for(lambda: DONE in history(tmux), timeout=60)
    out = history(tmux)
    assert f"{DONE}0" in out, out
    assert "Traceback" not in out, out
    found = RESULT.search(out)
    assert found is not None and found.group(1) is None, out  # "best trial N", not "so far"
    trial, auc, baseline, oracle = int(found.group(2)), *map(float, found.groups()[2:])
    results = json.loads((session.trial_dir(trial) / "eval_results.json").read_text())
    assert auc == round(results["test_auc"], 4)
    assert (baseline, oracle) == (round(refs["baseline_auc"], 4), round(refs["oracle_auc"], 4))
    assert trial == summarize(session)["best_trial"]
    assert baseline < auc < oracle


def test_quitting_a_running_demo_says_the_sweep_goes_on(
    tmux: Tmux,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = tmp_path / "sessions"
    session = start_demo(tmux, store, tmp_path, trials=40, size=(80, 24))
    wait_for(lambda: session.id[:12] in tmux.screen(), timeout=120)
    tmux("send-keys", "q")
    wait_for(lambda: DONE in history(tmux), timeout=60)
    out = history(tmux)
    assert f"{DONE}0" in out and "Traceback" not in out, out
    assert f"the sweep goes on in the background: `kttui attach {session.id}`" in out, out
    assert Session(session.path).runner_alive()  # quitting the console did not stop it
    assert kttui("stop", session.id, "--sessions-dir", str(store)).returncode == 0
    wait_for(lambda: not session.runner_alive(), timeout=300)
