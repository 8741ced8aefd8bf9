"""The sessions screen's `n` template launches as it stands (issue 11 §5).

The untouched template (kttui's embedded KT trainer on synthetic students) is
launched with ctrl+l from the editor: a real runner, real torch trials, and at
least one trial completes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kttui.service import sessions, specs
from kttui.tui.app import KttuiApp
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.screens.dialogs import PathPrompt
from kttui.tui.screens.editor import EditorScreen
from kttui.tui.widgets.trial_table import TrialTable
from tests.test_tui_pilot import sync, until

pytest.importorskip("torch")
pytestmark = pytest.mark.timeout(420)


@sync
async def test_ctrl_l_on_the_untouched_template_runs_a_sweep(store: Path, tmp_path: Path) -> None:
    app = KttuiApp(store, cursor_blink=False, launch_dir=tmp_path)
    session = None
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("n")
            assert isinstance(app.screen, PathPrompt)
            target = tmp_path / "new.yaml"
            app.screen.query_one("#path-input").value = str(target)
            await pilot.press("enter")
            editor = await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen)
            assert editor.text == specs.SPEC_TEMPLATE
            await until(pilot, lambda: editor.validated_text == editor.text and not editor.issues)
            await pilot.press("ctrl+l")
            dash = await until(
                pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen, timeout=60
            )
            session = dash.session
            assert target.read_text() == specs.SPEC_TEMPLATE  # saved as it stood
            table = dash.query_one(TrialTable)
            await until(
                pilot,
                lambda: any(r.state == "complete" for r in table.rows_by_number.values()),
                timeout=300,
            )
            done = [s for s in session.trial_statuses() if s.get("state") == "complete"]
            assert done and all(isinstance(s.get("value"), float) for s in done)
            assert app.errors == []
    finally:
        if session is not None:
            sessions.control(session, "shutdown")
