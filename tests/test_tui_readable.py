"""The console reads at every width: the header (snapshots), a SLURM sweep's table and GPU
pane, the pinned trial number, the log wrap toggle and the chart keys, through Pilot."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.app import App, ComposeResult

from kttui.service.logs import LogLine
from kttui.tui.app import KttuiApp
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.widgets.charts import ChartPane
from kttui.tui.widgets.gpu_pane import GpuPane, render_gpus
from kttui.tui.widgets.header import HeaderInfo, SessionHeader
from kttui.tui.widgets.log_pane import LogPane
from kttui.tui.widgets.trial_table import TrialTable
from tests.demo_session import write_demo_session
from tests.test_tui_pilot import sync, until

NAME = "sakt-assist2009-lr-heads-20260115-093000"  # 40 characters, as kttui names sessions
INFO = HeaderInfo(
    name=NAME,
    state="running",
    counts={"complete": 3, "running": 4, "pruned": 1, "fail": 1, "queued": 2},
    budget=12,
    metric="val_auc",
    best_value=0.81234,
    best_trial=7,
    elapsed_s=723.0,
    eta_s=1446.0,
)


class HeaderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SessionHeader()

    def on_mount(self) -> None:
        self.query_one(SessionHeader).show(INFO)


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_header_snapshot(snap_compare: Any, width: int) -> None:
    assert snap_compare(HeaderApp(), terminal_size=(width, 3))


def table_text(table: TrialTable) -> str:
    """The table's lines as drawn (header and the rows on screen)."""
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


def plain(renderable: Any, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@pytest.fixture
def slurm_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sweep on the slurm backend whose status files carry what the runner writes."""
    monkeypatch.setenv("KTTUI_FAKE_GPUS", "0")
    session = write_demo_session(tmp_path, trials=12, epochs=4, running=(8, 9, 10, 11))
    spec = session.spec_path.read_text().replace("backend: local", "backend: slurm")
    session.spec_path.write_text(spec)
    for n, node in ((8, "gpu-node-03"), (9, "gpu-node-07")):
        path = session.trial_dir(n) / "status.json"
        status = json.loads(path.read_text())
        status.update(job_id=str(41230 + n), node=node, gres="gpu:a100:1")
        path.write_text(json.dumps(status))
    for n, reason in ((10, "pending: Resources"), (11, "pending: Priority")):
        path = session.trial_dir(n) / "status.json"
        status = json.loads(path.read_text())
        status.update(state="queued", reason=reason, job_id=str(41230 + n))
        path.write_text(json.dumps(status))
    return session.path


@sync
async def test_slurm_reason_and_jobs_at_80_columns(slurm_session: Path) -> None:
    app = KttuiApp(slurm_session.parent, slurm_session, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(TrialTable)
        await until(pilot, lambda: table.row_count == 12, 60)
        await until(pilot, lambda: "queued Resources" in table_text(table), 60)
        text = table_text(table)
        assert "queued Priority" in text and len(text.splitlines()[0]) <= 80
        await until(pilot, lambda: screen.gpus is not None, 60)
        snapshot = screen.gpus
        assert snapshot is not None and "no GPU detected" not in snapshot.note
        assert [(j.trial, j.job_id, j.node, j.gres) for j in snapshot.jobs] == [
            (8, "41238", "gpu-node-03", "gpu:a100:1"),
            (9, "41239", "gpu-node-07", "gpu:a100:1"),
        ]
        await pilot.press("tab", "tab", "tab", "tab")  # trials -> chart -> log -> advice -> gpus
        assert screen.current_pane == "gpus"
        text = plain(render_gpus(snapshot), 78)
        assert "41238" in text and "gpu-node-07" in text and "gpu:a100:1" in text
        assert screen.query_one(GpuPane).display


@sync
async def test_sideways_scroll_pins_the_trial_number_and_w_wraps_the_log(tmp_path: Path) -> None:
    session = write_demo_session(tmp_path, trials=30, epochs=4)
    app = KttuiApp(tmp_path, session.path, cursor_blink=False)
    async with app.run_test(size=(60, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(TrialTable)
        await until(pilot, lambda: table.row_count == 30 and screen.selected == 29, 60)
        assert table.total_width > table.size.width  # time and slot are off to the right
        for _ in range(6):
            await pilot.press("right")
        await pilot.pause(0.2)
        assert table.scroll_offset.x > 0
        first = table.render_line(1 + table.cursor_row - int(table.scroll_offset.y)).text
        assert first.lstrip().startswith("29"), first  # the number is still there
        assert "cpu" in first  # and the slot column came into view
        # the log: w wraps and unwraps, the title says so and fits the pane
        await pilot.press("tab", "tab")
        assert screen.current_pane == "log"
        log = screen.query_one(LogPane)
        await until(pilot, lambda: log.trial == 29, 60)
        assert not log.wrap
        await pilot.press("w")
        assert log.wrap
        title = screen.query_one("#pane-log").border_title
        assert title is not None and "#29" in str(title) and len(str(title)) < 56
        await pilot.press("w")
        assert not log.wrap


@sync
async def test_chart_keys_pair_view_and_legend(tmp_path: Path) -> None:
    session = write_demo_session(tmp_path, trials=30, epochs=6)
    app = KttuiApp(tmp_path, session.path, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        chart = screen.query_one(ChartPane)
        await until(pilot, lambda: screen.data.analysis is not None, timeout=120)
        await until(pilot, lambda: len([n for n in screen.curves if screen.curves[n]]) >= 5, 60)
        chart.replot()
        legend = str(chart.query_one("#chart-legend").render())
        assert legend.count("━ #") >= 5 and "paper 0.7" in legend and "target 0.76" in legend
        await pilot.press("l")
        assert not chart.query_one("#chart-legend").display
        await pilot.press("b")
        assert screen.chart_kind == "pair" and chart.kind == "pair"
        text = str(chart.query_one("#chart-text").render())
        assert "pair view: mean val_auc per cell" in text and "d_model" in text
        await pilot.press("b")
        assert chart.pair_param is not None
        await pilot.press("c")  # from the pair view, c goes back to the cycle
        assert screen.chart_kind == "curves"
        for _ in range(3):
            await pilot.press("c")
        assert screen.chart_kind == "importance"
        text = str(chart.query_one("#chart-text").render())
        assert text.startswith("importance: fANOVA") and "epochs" not in text  # never varied


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogPane()


@sync
async def test_the_no_output_note_gives_way_to_the_first_line() -> None:
    """A trial that writes later must not show "(no output yet)" above its output."""
    app = LogApp()
    async with app.run_test(size=(80, 10)) as pilot:
        log = app.query_one(LogPane)
        log.show_trial(3)
        log.show_empty()
        await pilot.pause()
        assert [strip.text for strip in log.lines] == ["(no output yet)"]
        log.add([LogLine("out", "epoch 1"), LogLine("err", "warning")])
        await pilot.pause()
        assert [strip.text.rstrip() for strip in log.lines] == ["epoch 1", "err│ warning"]
        log.toggle_wrap()  # re-laid out from the kept lines, still without the note
        await pilot.pause()
        assert [strip.text.rstrip() for strip in log.lines] == ["epoch 1", "err│ warning"]
        log.show_trial(4)
        log.show_empty()
        log.toggle_wrap()
        await pilot.pause()
        assert [strip.text for strip in log.lines] == ["(no output yet)"]
