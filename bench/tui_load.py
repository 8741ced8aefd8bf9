"""The console under load: a 10 000-trial × 100-epoch session, written straight to disk.

Prints, per terminal size:
* time from starting the app to its first frame, and to all 10 000 trials in
  the table (status files are read in a worker thread meanwhile);
* key press → repaint for sort (o, O), filter (enter after typing) and selection
  (down): from posting the key event until its effect is in the trial table,
  plus one full render of the table (the part of the frame that changed);
* epoch → screen: an epoch line appended to a running trial's metrics.jsonl
  until the table holds the new epoch and has been re-rendered (p50/p99);
  the learning-curve chart overlays the top K trials meanwhile (their curves
  loaded in the reader thread);
* process start → first frame of a real ``kttui attach`` on that session in a
  pty (the first frame holds the trial pane's title), beside the time
  ``python -c "import textual.app"`` takes, measured in the same run.

Goals: first frame < 1 s, key → frame < 100 ms, epoch → screen p99 < 250 ms.

Wall times lie on a loaded machine, so CPU time is printed beside them: the
UI thread's for each key (what the key costs the event loop), the process's
for start-up, and the attached console's own (/proc/PID/stat) for its first
frame. ``BENCH_STORE=DIR`` keeps the written session there and reuses it on
the next run (writing 10 000 trials takes a minute or two);
``BENCH_PROFILE=N`` prints the N costliest functions of the UI thread
(cProfile) for each measured phase. ``BENCH_SIZES=80x24`` picks the terminal
sizes (empty: none), ``BENCH_ATTACH=0`` skips the attach measurement
(kttui is byte-compiled first, as an installed console is; ``BENCH_COMPILE=0``
times the start with no bytecode cache).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import os
import pstats
import pty
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from textual import events
from textual.geometry import Region
from textual.widgets import Input

from kttui.chartdata import TOP_K, top_trials
from kttui.session import Session
from kttui.tui.app import KttuiApp
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.widgets.trial_table import TrialTable

# The synthetic session writer is a test fixture (tests/demo_session.py), not part of kttui.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.demo_session import write_demo_session

TRIALS = 10_000
EPOCHS = 100
RUNNING = tuple(range(TRIALS - 8, TRIALS))
SAMPLES = 80


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fmt(values: list[float], cpu: list[float] | None = None) -> str:
    ms = [v * 1000 for v in values]
    out = f"median {statistics.median(ms):6.1f} ms  max {max(ms):6.1f} ms"
    if cpu:
        out += f"  (UI CPU median {statistics.median(cpu) * 1000:5.1f} max {max(cpu) * 1000:5.1f})"
    return out


PROFILE_TOP = int(os.environ.get("BENCH_PROFILE", "0") or 0)


@contextmanager
def profiled(phase: str) -> Iterator[None]:
    """With BENCH_PROFILE=N: the N costliest functions of this thread during the phase."""
    if not PROFILE_TOP:
        yield
        return
    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("cumulative").print_stats(PROFILE_TOP)
        stats.sort_stats("tottime").print_stats(PROFILE_TOP)
        print(f"---- profile of the UI thread: {phase}")
        print(out.getvalue())


def render(table: TrialTable) -> None:
    table.render_lines(Region(0, 0, table.size.width, table.size.height))


async def measure(store: Path, session_path: Path, size: tuple[int, int]) -> None:
    start, cpu_start = time.perf_counter(), time.process_time()
    app = KttuiApp(store, session_path, cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        first_frame = time.perf_counter() - start
        first_cpu = time.process_time() - cpu_start
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one(TrialTable)
        while table.row_count < TRIALS:
            await asyncio.sleep(0.002)
        all_rows = time.perf_counter() - start
        all_cpu = time.process_time() - cpu_start
        top = top_trials(table.rows_by_number.values(), TOP_K, screen.maximizing)
        while not all(n in screen.curves for n in top):
            await asyncio.sleep(0.005)
        top_loaded = time.perf_counter() - start
        await pilot.pause(0.5)
        table.focus()

        cpu: dict[str, list[float]] = {"sort": [], "select": [], "filter": []}

        async def key(kind: str, name: str, done: Callable[[], bool]) -> float:
            """Post one key event; time until its effect is in the table and rendered.

            The UI thread's CPU time meanwhile goes to ``cpu[kind]`` (this
            coroutine runs on that thread: its polling is a few µs a turn).
            """
            char = name if len(name) == 1 else None
            t0, c0 = time.perf_counter(), time.thread_time()
            app.post_message(events.Key(name, char))
            while not done():
                await asyncio.sleep(0.001)
            render(table)
            cpu[kind].append(time.thread_time() - c0)
            return time.perf_counter() - t0

        sort, select, filt = [], [], []
        with profiled(f"{size[0]}x{size[1]} sort (o, O)"):
            for _ in range(6):
                before = table.sort_column
                sort.append(await key("sort", "o", lambda b=before: table.sort_column != b))
                await pilot.pause(0.1)
            for _ in range(3):
                before_rev = table.sort_reverse
                sort.append(await key("sort", "O", lambda b=before_rev: table.sort_reverse != b))
                await pilot.pause(0.1)
        screen.sort_by("number")
        table.move_cursor(row=table.row_count // 2)
        await pilot.pause(0.3)
        with profiled(f"{size[0]}x{size[1]} select (down)"):
            for _ in range(20):
                row = table.cursor_row
                select.append(await key("select", "down", lambda r=row: table.cursor_row == r + 1))
                await pilot.pause(0.05)
        box = screen.query_one("#filter", Input)
        with profiled(f"{size[0]}x{size[1]} filter (enter)"):
            for text in ("state=running", "lr<0.001", "fail", ""):
                await pilot.press("slash")
                box.value = text  # typed; enter applies it at once
                filt.append(
                    await key(
                        "filter",
                        "enter",
                        lambda t=text: table.filter.text == t,
                    )
                )
        screen.sort_by("number")
        table.action_follow()
        await pilot.pause(0.3)

        latencies: list[float] = []
        epoch = {n: table.rows_by_number[n].epoch or 0 for n in RUNNING}
        session = screen.session
        epochs_wall, epochs_cpu = time.perf_counter(), time.process_time()
        epochs_ui = time.thread_time()
        epochs_profile = profiled(f"{size[0]}x{size[1]} epoch -> screen")
        epochs_profile.__enter__()
        for i in range(SAMPLES):
            n = RUNNING[i % len(RUNNING)]
            epoch[n] += 1
            line = json.dumps({"epoch": epoch[n], "val_auc": 0.7 + i * 1e-5, "loss": 0.3})
            t0 = time.perf_counter()
            with open(session.trial_dir(n) / "metrics.jsonl", "a") as fh:
                fh.write(line + "\n")
            while (table.rows_by_number[n].epoch or 0) < epoch[n]:
                await asyncio.sleep(0.002)
            render(table)
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.03 + (i % 5) * 0.02)
        epochs_profile.__exit__(None, None, None)
        epochs_wall = time.perf_counter() - epochs_wall
        epochs_cpu = (time.process_time() - epochs_cpu) / epochs_wall
        epochs_ui = (time.thread_time() - epochs_ui) / epochs_wall

    w, h = size
    print(f"-- {w}x{h}, {TRIALS} trials x {EPOCHS} epochs ({len(RUNNING)} running)")
    print(
        f"first frame            {first_frame * 1000:7.0f} ms   (goal < 1000 ms;"
        f" process CPU {first_cpu * 1000:.0f} ms)"
    )
    print(
        f"all {TRIALS} trials     {all_rows * 1000:7.0f} ms   (read in a thread, UI live;"
        f" process CPU {all_cpu * 1000:.0f} ms)"
    )
    print(f"top-{TOP_K} curves loaded   {top_loaded * 1000:7.0f} ms   (overlaid on the chart)")
    print(f"key -> frame, sort     {fmt(sort, cpu['sort'])}   (goal < 100 ms)")
    print(f"key -> frame, filter   {fmt(filt, cpu['filter'])}   (enter: table refiltered)")
    print(f"key -> frame, select   {fmt(select, cpu['select'])}")
    p50, p99 = pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000
    if os.environ.get("BENCH_VERBOSE"):
        print(sorted(round(v * 1000) for v in latencies))
    print(
        f"epoch -> screen        p50 {p50:6.1f} ms  p99 {p99:6.1f} ms   (goal p99 < 250 ms;"
        f" meanwhile UI thread {epochs_ui:.0%}, process {epochs_cpu:.0%} of a core)"
    )


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_frame_of_attach(store: Path, session: str, size: tuple[int, int]) -> tuple[float, float]:
    """Seconds from spawning ``kttui attach`` in a pty until the trial pane's title is drawn,
    and the CPU seconds the console used until then."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real console in a real terminal
        os.environ.update(TERM="xterm-256color", COLUMNS=str(size[0]), LINES=str(size[1]))
        argv = [sys.executable, "-m", "kttui", "attach", session, "--sessions-dir", str(store)]
        os.execv(sys.executable, argv)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    start, seen, took, cpu = time.perf_counter(), b"", float("nan"), float("nan")
    try:
        while time.perf_counter() - start < 30:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if b"Trials" in seen:
                took = time.perf_counter() - start
                cpu = cpu_seconds(pid)
                break
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)
        os.close(fd)
    return took, cpu


def compile_kttui() -> None:
    """Byte-compile kttui as ``pip install`` does before timing its start.

    An editable install never caches bytecode when PYTHONDONTWRITEBYTECODE is set
    (as on the CI machines), so every attach compiled the fifty-odd kttui modules
    it imports from source, which an installed console never does. The floor,
    ``import textual.app``, reads Textual's compiled modules. ``BENCH_COMPILE=0``
    measures the uncompiled start instead.
    """
    import compileall
    import importlib.util

    if os.environ.get("BENCH_COMPILE", "1") == "0":
        return
    for package in ("kttui", "kttui.backends"):  # backends/ installs as kttui.backends
        spec = importlib.util.find_spec(package)
        for where in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(where, quiet=1)


def import_textual() -> tuple[float, float]:
    """Wall and CPU seconds of ``python -c "import textual.app"``."""
    t0 = time.perf_counter()
    before = os.times()
    subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return time.perf_counter() - t0, cpu


def main() -> None:
    os.environ.setdefault("KTTUI_FAKE_GPUS", "2")
    keep = os.environ.get("BENCH_STORE")
    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="kttui-tui-bench-"))
    existing = sorted(tmp.glob("demo-*")) if keep else []
    if existing:
        session = Session(existing[0].resolve())
        print(f"reusing the synthetic session {session.path}")
    else:
        t0 = time.perf_counter()
        session = write_demo_session(tmp, trials=TRIALS, epochs=EPOCHS, running=RUNNING)
        print(f"wrote a synthetic session in {time.perf_counter() - t0:.1f} s: {session.path}")
    try:
        sizes = os.environ.get("BENCH_SIZES", "80x24,160x48")  # e.g. BENCH_SIZES=80x24
        for size in filter(None, sizes.split(",")):
            w, h = (int(v) for v in size.split("x"))
            asyncio.run(measure(tmp, session.path, (w, h)))
        if os.environ.get("BENCH_ATTACH", "1") == "0":
            return
        compile_kttui()
        attach = [first_frame_of_attach(tmp, session.id, (80, 24)) for _ in range(3)]
        imports = [import_textual() for _ in range(3)]
        print("-- kttui attach in a pty (80x24), process start to first frame, 3 runs")
        walls, cpus = [a[0] for a in attach], [a[1] for a in attach]
        print(
            f"kttui attach           median {statistics.median(walls) * 1000:6.0f} ms"
            f"  max {max(walls) * 1000:6.0f} ms   (goal < 1000 ms;"
            f" its CPU median {statistics.median(cpus) * 1000:.0f} ms)"
        )
        walls, cpus = [a[0] for a in imports], [a[1] for a in imports]
        print(
            f"import textual.app     median {statistics.median(walls) * 1000:6.0f} ms"
            f"   (python -c, same run: the floor; CPU median {statistics.median(cpus) * 1000:.0f}"
            " ms)"
        )
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
