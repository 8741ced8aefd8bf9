"""Soak: seeded random keys on the dashboard, at three terminal sizes.

Two sessions: a live sweep (the real runner, the test trainer, the one-node
SLURM cluster of tests/infra/slurm_up.sh) with trials in every state at once
(queued, running before its first epoch, running with epochs, pruned, failed,
complete), and a session with zero trials. "queued" is real: the sweep allows
more trials at once than the node has GPUs, so SLURM holds the rest with
reason Resources (the local backend never queues: the runner asks for a trial
only when a slot is free). The keys are drawn from the bindings the screens declare
(the static ``BINDINGS`` of every screen the dashboard opens, plus the
``active_bindings`` of whatever screen is on top), never from a hand-written
list, so a new binding is soaked the day it is added. Dialogs that would
destroy something are answered no; a screen the soak does not explore (the
editor, the path prompt) is left with escape.

A failure anywhere shows up in the app's error list (the error boundary), in
``console.log`` (the boundary's traceback file) or as the app having exited:
all three fail the test. Keys go in as the terminal driver delivers them, in
bursts faster than the app paints (as a user types, and harsher: the frames in
between must coalesce); a burst ends at a key that may open or close a screen,
and the soak lets the app catch up before choosing the next key for the screen
then on top (so a "yes", a palette "enter" or a "q" never lands on a screen it
was not chosen for). The live sweep stays live for the whole soak: it is resumed
whenever a random ``p`` paused it, the table must keep growing during each
size's keys, and all six states must be on screen at once while keys go in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.command import CommandPalette

from kttui.service import sessions
from kttui.session import Session, list_sessions
from kttui.tui.app import KttuiApp
from kttui.tui.guard import LOG_NAME
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.screens.detail import TrialDetailScreen
from kttui.tui.screens.dialogs import ConfirmScreen
from kttui.tui.screens.help import HelpScreen
from kttui.tui.screens.home import HomeScreen
from kttui.tui.widgets.trial_table import TrialTable
from tests.demo_session import write_demo_session
from tests.test_slurm_backend import cluster  # noqa: F401  (the fixture)
from tests.test_tui_pilot import start_sweep

SIZES = ((80, 24), (120, 40), (200, 50))
#: Keys per size, on the live sweep and on the empty session. Issue 11 asks 2 000; in
#: bursts a key costs ~75 ms of CPU on the empty session and more on the live one (mostly
#: Textual laying out and styling screens that open and close, and the sweep's updates),
#: so the default is what fits the suite's budget: KTTUI_SOAK_KEYS=2000 runs the full count.
KEYS = int(os.environ.get("KTTUI_SOAK_KEYS", "600"))
#: At most this many keys go in before the soak waits for the app to handle them.
BURST = 24
#: Keys that must reach the screen they were chosen for: each ends a burst.
RISKY = {"enter", "escape", "q", "y", "n"}
#: Actions that keep the screen on top (a burst goes on past them): the dashboard's view
#: choices and the palette's list moves. Any other action (detail, stop, kill, edit,
#: help, palette, close, ...) ends the burst.
IN_PLACE = {
    "pause",
    "resume",
    "export",
    "cycle_chart",
    "slice_param",
    "pair_view",
    "toggle_legend",
    "toggle_wrap",
    "filter",
    "sort",
    "reverse_sort",
    "next_pane",
    "previous_pane",
    "command_list",
    "page",
}
#: Action prefixes of the focused widget (table, filter box, log) that move within it.
WIDGET_MOVES = ("cursor_", "scroll_", "page_", "delete_")
#: Screens whose keys the soak explores; anywhere else it presses escape.
SOAKED = (DashboardScreen, HelpScreen, TrialDetailScreen, ConfirmScreen, CommandPalette)
#: Every screen (and widget) whose declared bindings feed the pool.
BOUND = (DashboardScreen, TrialTable, KttuiApp, HelpScreen, TrialDetailScreen, ConfirmScreen)
#: The states the live sweep shows at once ("running" split by whether it has an epoch).
LIVE_STATES = {"queued", "running, no epoch", "running", "pruned", "fail", "complete"}

CHARS = {"slash": "/", "question_mark": "?"}

pytestmark = pytest.mark.timeout(1200)


def keys_of(bindings: Any) -> list[str]:
    keys: list[str] = []
    for binding in bindings:
        keys += [k.strip() for k in getattr(binding, "key", "").split(",") if k.strip()]
    return keys


def binding_keys() -> list[str]:
    """Every key the dashboard and the screens it opens react to, from their bindings."""
    keys: list[str] = []
    for owner in (*BOUND, CommandPalette):
        keys += keys_of(owner.BINDINGS)
    keys.append(KttuiApp.COMMAND_PALETTE_BINDING)
    keys = [k for k in keys if k not in ("q", "y")]  # quit ends the soak; y says yes
    return sorted(set(keys))


def test_the_key_pool_covers_every_binding() -> None:
    keys = set(binding_keys())
    for owner in BOUND:
        for binding in owner.BINDINGS:
            assert set(keys_of([binding])) - {"q", "y"} <= keys, binding
    assert {"c", "tab", "o", "slash", "enter", "escape", "question_mark", "ctrl+p"} <= keys
    assert {"s", "k", "backspace", "n", "e", "x", "p", "r"} <= keys


def states_of(app: KttuiApp) -> set[str]:
    """The trial states the console's table holds now."""
    dash = next((s for s in app.screen_stack if isinstance(s, DashboardScreen)), None)
    table = next(iter(dash.query(TrialTable)), None) if dash is not None else None
    if table is None:  # no dashboard, or one still composing (opened mid-burst)
        return set()
    rows = table.rows_by_number.values()
    return {
        "running, no epoch" if r.state == "running" and r.epoch is None else r.state for r in rows
    }


async def settle(app: KttuiApp) -> None:
    """Wait until the app and every widget of the top screen handled what was queued."""
    for _ in range(2):  # a key is forwarded, then may bubble once more
        waits = []
        for node in (app, *app.screen.walk_children(with_self=True)):
            done = asyncio.Event()
            if node.call_later(done.set):
                waits.append(done.wait())
        await asyncio.wait_for(asyncio.gather(*waits), timeout=60)


async def back_to_dashboard(app: KttuiApp) -> None:
    """Close whatever the random keys left on top (a dialog, help, detail, the sessions).

    Back on the sessions screen, enter opens the dashboard only once the list has loaded
    its rows (a loaded box takes seconds): keep trying until then.
    """
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if isinstance(app.screen, DashboardScreen):
            return
        key = "enter" if isinstance(app.screen, HomeScreen) else "escape"
        app.post_message(events.Key(key, None))
        await settle(app)
        await asyncio.sleep(0.2)
    raise AssertionError(f"no way back to the dashboard from {app.screen!r}")


def choose(app: KttuiApp, rng: random.Random, pool: list[str]) -> str:
    """A random key for the screen on top; dialogs that destroy are answered no."""
    screen = app.screen
    if isinstance(screen, HomeScreen):
        return "enter"  # escape went back to the sessions: open the dashboard again
    if not isinstance(screen, SOAKED):
        return "escape"  # the editor, the path prompt: out again
    active = [k for k, b in screen.active_bindings.items() if b.binding.action != "quit"]
    key = rng.choice(pool + active)
    if isinstance(screen, ConfirmScreen) and key not in ("n", "escape"):
        return rng.choice(("n", "escape"))
    if isinstance(screen, CommandPalette) and key == "enter":
        return "escape"  # never run a palette command (it could be Quit)
    if key in ("q", "y") and not isinstance(screen, HelpScreen | TrialDetailScreen):
        return "escape"
    return key


def in_place(app: KttuiApp, key: str) -> bool:
    """Whether ``key`` leaves the screen on top in place, so the next key may be chosen now."""
    screen = app.screen
    if not isinstance(screen, SOAKED) or key in RISKY:
        return False
    bound = screen.active_bindings.get(key)
    if bound is None:
        return True  # typed into the filter box or the palette's search, or nothing
    action = bound.binding.action.split("(")[0]
    return action in IN_PLACE or action.startswith(WIDGET_MOVES)


async def press_burst(
    app: KttuiApp, rng: random.Random, pool: list[str], most: int, pressed: set[str]
) -> int:
    """Post up to ``most`` keys without waiting, then let the app handle them all.

    The keys are queued before the app handles any, so all are chosen for the screen
    on top now; the burst ends early after a key that may change that screen.
    """
    count = 0
    while count < most:
        key = choose(app, rng, pool)
        pressed.add(key)
        app.post_message(events.Key(key, CHARS.get(key, key if len(key) == 1 else None)))
        count += 1
        if not in_place(app, key):
            break
    await settle(app)
    return count


def table_rows(app: KttuiApp) -> int:
    dash = next((s for s in app.screen_stack if isinstance(s, DashboardScreen)), None)
    return len(dash.query_one(TrialTable).rows_by_number) if dash is not None else 0


async def soak(
    app: KttuiApp, session: Session, per_size: int, seed: int, live: bool = False
) -> dict[str, Any]:
    rng = random.Random(seed)
    started, cpu_started = time.monotonic(), time.process_time()
    keys_s = keys_cpu = 0.0  # spent pressing keys (not waiting for the sweep's states)
    pool = binding_keys()
    pressed = bursts = 0
    seen: dict[str, set[str]] = {}
    at_once: dict[str, int] = {}  # samples, while keys went in, with all six states
    grew: dict[str, int] = {}  # trials the table gained while this size's keys went in
    pressed_keys: set[str] = set()
    async with app.run_test(size=SIZES[0]) as pilot:
        await pilot.pause(0.5)
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            label = f"{width}x{height}"
            seen[label], at_once[label] = set(), 0
            if live:  # every state on screen at once before this size's keys
                await back_to_dashboard(app)
                deadline = time.monotonic() + 240
                while not states_of(app) >= LIVE_STATES:
                    assert time.monotonic() < deadline, f"states: {states_of(app)}"
                    if session.state() == "paused":
                        sessions.control(session, "resume")
                    await pilot.pause(0.2)
            rows_before = table_rows(app)
            size_started, size_cpu = time.monotonic(), time.process_time()
            done = 0
            while done < per_size:
                done += await press_burst(app, rng, pool, min(BURST, per_size - done), pressed_keys)
                assert app.is_running, f"the console exited after {pressed + done} keys"
                bursts += 1
                now = states_of(app)
                seen[label] |= now
                at_once[label] += now >= LIVE_STATES
                if live and bursts % 4 == 0 and session.state() == "paused":
                    sessions.control(session, "resume")  # a random p: keep the sweep live
            pressed += done
            keys_s += time.monotonic() - size_started
            keys_cpu += time.process_time() - size_cpu
            grew[label] = table_rows(app) - rows_before
            await back_to_dashboard(app)  # the last key may have left it (escape, enter)
            seen[label] |= states_of(app)
            assert app.errors == [], app.errors
            assert not (session.path / LOG_NAME).exists(), (session.path / LOG_NAME).read_text()
        await back_to_dashboard(app)  # with nothing queued, then leave
    assert app.return_code in (None, 0)
    assert app.errors == [], app.errors
    assert not (session.path / LOG_NAME).exists(), (session.path / LOG_NAME).read_text()
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    rate = pressed / keys_s if keys_s else 0.0
    per_key = 1000 * keys_cpu / pressed if pressed else 0.0
    print(
        f"soak: {pressed} keys in {bursts} bursts, {rate:.1f} keys/s and {per_key:.1f} ms CPU "
        f"a key while pressing; {elapsed:.0f} s wall, {cpu:.0f} s CPU in all; "
        f"states per size: {seen}; samples with all six at once: {at_once}; "
        f"trials added while pressing: {grew}"
    )
    return {
        "pressed": pressed,
        "seen": seen,
        "keys": pressed_keys,
        "at_once": at_once,
        "grew": grew,
    }


def test_soak_a_session_with_zero_trials(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    session = write_demo_session(store, trials=0)
    app = KttuiApp(store, session.path, cursor_blink=False, poll_s=0.1)
    out = asyncio.run(soak(app, session, KEYS, seed=1))
    assert out["pressed"] == KEYS * len(SIZES)


@pytest.fixture
def slurm_store(cluster: dict[str, Any]) -> Iterator[Path]:  # noqa: F811
    """A store under /var/tmp (the node is this machine; /tmp is flagged as not shared).

    Afterwards every job of its sessions is cancelled and a runner left behind killed.
    """
    path = Path(tempfile.mkdtemp(prefix="kttui-soak-", dir="/var/tmp"))
    store = path / "store"
    store.mkdir()
    yield store
    for s in list_sessions(store):
        if s.runner_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int((s.runner() or {})["pid"]), signal.SIGKILL)
        names = subprocess.run(
            ["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True, timeout=30
        ).stdout.split("\n")
        jobs = [j.split()[0] for j in names if f" kttui-{s.id}-" in f" {j.strip()}"]
        if jobs:
            subprocess.run(["scancel", *jobs], capture_output=True, timeout=30)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(1800)
def test_soak_a_live_sweep_with_every_state_at_once(slurm_store: Path) -> None:
    """Up to eight trials at once on a node with four GPUs: four run, the rest queue.

    The trial's x decides what it does: x < 0.12 fails before any epoch; x > 0.75
    waits 10 s before its one epoch (a running trial with no epoch yet, and never
    one that holds a GPU for long); others write an epoch every 0.25 s, 6 of them
    below x = 0.5 (short, complete or pruned by the median rule) and 30 above
    (complete).
    """
    session = start_sweep(
        slurm_store,
        slurm_store.parent,
        fixed={"exit_code": 3},
        derived={
            "epoch_s": "10.0 if x > 0.75 else 0.25",
            "epochs": "1 if x > 0.75 else (6 if x < 0.5 else 30)",
            "fail_at": "1 if x < 0.12 else 0",
        },
        strategy={"sampler": "random", "n_trials": 2000, "seed": 3},
        pruner={"type": "median", "min_epochs": 2, "n_startup_trials": 3},
        resources={
            "backend": "slurm",
            "gpus": 4,
            "gpus_per_trial": 1,
            "max_concurrent": 8,
            "kill_grace_s": 1,
            "pause_after_failures": 0,
            "slurm": {"poll_s": 0.3, "mem": "64M"},
        },
    )
    app = KttuiApp(slurm_store, session.path, cursor_blink=False, poll_s=0.1)
    try:
        out = asyncio.run(soak(app, session, KEYS, seed=7, live=True))
    finally:
        sessions.control(session, "shutdown")
    assert out["pressed"] == KEYS * len(SIZES)
    assert set(out["seen"]) == {f"{w}x{h}" for w, h in SIZES}
    for label, states in out["seen"].items():
        assert states >= LIVE_STATES, (label, states)
        assert out["at_once"][label] > 0, (label, out["at_once"])  # live while keys went in
        assert out["grew"][label] > 0, (label, out["grew"])  # the sweep went on meanwhile


@pytest.mark.parametrize("opener", ["question_mark", "ctrl+p", "enter"])
@pytest.mark.parametrize("escapes", [3, 8])
def test_escapes_typed_ahead_of_a_closing_screen_then_quit(
    tmp_path: Path, opener: str, escapes: int
) -> None:
    """Escapes queued faster than screens close, then ``q``: no ScreenStackError.

    Each escape was handled by the screen it was queued to, so one screen dismissed
    itself several times and popped the stack empty; keys bubbling up behind ``q``
    then met an app with no screen. Now the sessions screen stays and the app quits.
    """
    store = tmp_path / "store"
    store.mkdir()
    session = write_demo_session(store, trials=3)

    async def run(quit_after: bool) -> list[type]:
        app = KttuiApp(store, session.path, cursor_blink=False, poll_s=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + 60  # enter opens a trial once the table has one
            while getattr(app.screen, "selected", None) is None:
                assert time.monotonic() < deadline, app.screen
                await pilot.pause(0.05)
            app.post_message(events.Key(opener, CHARS.get(opener)))
            await settle(app)
            assert not isinstance(app.screen, DashboardScreen | HomeScreen), app.screen
            for _ in range(escapes):
                app.post_message(events.Key("escape", None))
            if quit_after:
                app.post_message(events.Key("q", "q"))
            deadline = time.monotonic() + 30
            while app.is_running and not isinstance(app.screen, HomeScreen):
                assert time.monotonic() < deadline, app.screen_stack
                await pilot.pause(0.05)
            stack = [type(s) for s in app.screen_stack] if app.is_running else []
        assert app.errors == [], app.errors
        assert app.return_code in (None, 0)
        return stack

    assert asyncio.run(run(quit_after=False))[-1] is HomeScreen
    asyncio.run(run(quit_after=True))


@pytest.mark.parametrize("page", ["pagedown", "pageup"])
def test_page_keys_typed_right_after_the_palette_opens(tmp_path: Path, page: str) -> None:
    """``ctrl+p`` then a page key at once: the palette's list has no lines yet.

    Textual's palette paged by line and raised ``KeyError`` inside its option list
    when the page key came before the list was laid out (the soak found it); the
    console must keep running with the palette open.
    """
    store = tmp_path / "store"
    store.mkdir()
    session = write_demo_session(store, trials=3)

    async def run() -> None:
        app = KttuiApp(store, session.path, cursor_blink=False, poll_s=0.1)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            for key in ("ctrl+p", page, page, "down", page):
                app.post_message(events.Key(key, None))
            await settle(app)
            assert isinstance(app.screen, CommandPalette), app.screen
            assert app.is_running
            app.post_message(events.Key("escape", None))
            await settle(app)
        assert app.errors == [], app.errors
        assert app.return_code in (None, 0)

    asyncio.run(run())
