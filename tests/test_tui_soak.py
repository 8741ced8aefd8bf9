"""Soak: seeded random keys on the dashboard, at three terminal sizes.

The keys are drawn from the bindings the screens declare (dashboard, trial
table, app, command palette), never from a hand-written list, so a new
binding is soaked the day it is added. A failure anywhere shows up in the
app's error boundary record (and console.log), or as the app having exited:
both fail the test. (A soak against a live SLURM sweep with every trial state
at once is not in this file yet.)
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette

from kttui.session import Session
from kttui.tui.app import KttuiApp
from kttui.tui.guard import LOG_NAME
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.screens.detail import TrialDetailScreen
from kttui.tui.screens.dialogs import ConfirmScreen
from kttui.tui.screens.help import HelpScreen
from kttui.tui.screens.home import HomeScreen
from kttui.tui.widgets.trial_table import TrialTable
from tests.demo_session import write_demo_session

SIZES = ((80, 24), (120, 40), (200, 50))
#: Keys per size (a key costs ~1 s on a loaded 2-core box: keep the suite short).
EMPTY_KEYS = 40
#: Screens the soak may wander into; anywhere else (editor, path prompt) it presses escape.
SOAKED = (DashboardScreen, HelpScreen, TrialDetailScreen, ConfirmScreen, CommandPalette)

CHARS = {"slash": "/", "question_mark": "?"}

pytestmark = pytest.mark.timeout(400)


def binding_keys() -> list[str]:
    """Every key the dashboard reacts to, read from the declared bindings."""
    keys: list[str] = []
    for bindings in (DashboardScreen.BINDINGS, TrialTable.BINDINGS, KttuiApp.BINDINGS):
        for binding in bindings:
            keys += [k.strip() for k in getattr(binding, "key", "").split(",") if k.strip()]
    keys.append(KttuiApp.COMMAND_PALETTE_BINDING)
    keys = [k for k in keys if k != "q"]  # quitting ends the soak, it is tested elsewhere
    return sorted(set(keys))


def test_the_key_pool_covers_every_dashboard_binding() -> None:
    keys = set(binding_keys())
    for binding in DashboardScreen.BINDINGS:
        assert set(getattr(binding, "key", "").split(",")) <= keys
    assert {"c", "tab", "o", "slash", "enter", "escape", "question_mark", "ctrl+p"} <= keys


async def soak(app: KttuiApp, session: Session, count_per_size: int, seed: int) -> int:
    rng = random.Random(seed)
    started = time.monotonic()
    pool = binding_keys()
    pressed = 0
    async with app.run_test(size=SIZES[0]) as pilot:
        await pilot.pause(0.5)
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            for _ in range(count_per_size):
                key = rng.choice(pool)
                screen = app.screen
                if isinstance(screen, HomeScreen):
                    key = "enter"  # escape went back to the sessions: open the dashboard again
                elif not isinstance(screen, SOAKED) or (
                    isinstance(screen, CommandPalette) and key == "enter"
                ):
                    key = "escape"  # back to the dashboard, never run a palette command
                # a key as the terminal driver delivers it, at typing speed; pilot.press
                # waits for the process to look idle, which a live feed never does
                app.post_message(events.Key(key, CHARS.get(key, key if len(key) == 1 else None)))
                await pilot.pause(0.005)
                pressed += 1
                assert app.is_running, f"the console exited after {pressed} keys"
                if pressed % 100 == 0:
                    await pilot.pause(0.2)  # let the feed deliver between bursts
            await pilot.pause(0.3)
            assert app.errors == [], app.errors
        assert any(isinstance(s, DashboardScreen) for s in app.screen_stack)
    assert app.return_code in (None, 0)
    assert app.errors == [], app.errors
    assert not (session.path / LOG_NAME).exists(), (session.path / LOG_NAME).read_text()
    print(f"soak: {pressed} keys in {time.monotonic() - started:.0f} s")
    return pressed


def test_soak_a_session_with_zero_trials(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    session = write_demo_session(store, trials=0)
    app = KttuiApp(store, session.path, cursor_blink=False, poll_s=0.1)
    assert asyncio.run(soak(app, session, EMPTY_KEYS, seed=1)) == EMPTY_KEYS * len(SIZES)
