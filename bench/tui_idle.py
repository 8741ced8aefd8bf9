"""What watching costs: CPU and terminal bytes of `kttui attach`, beside `top -d 1`.

Users leave the console open for days on shared login nodes and over slow
links. Each program runs in its own pseudo-terminal at 80×24
(TERM=xterm-256color); after a warm-up, its CPU time (/proc/PID/stat) and the
bytes it wrote to the pty are measured over WINDOW_S seconds. The warm-up
lasts until the program settled (WARMUP_S at least, then until a SETTLE_S
stretch wanted under SETTLED_PCT of a core, counting time spent waiting for a
core, at most MAX_WARMUP_S): the console's
one-off start-up (imports, the first analysis for the advice pane, which takes
many seconds on a loaded 2-core box) is printed apart from what watching
costs. Cases:

* live: a sweep of 8 running trials, each writing one epoch a second;
* live at 120×40, where every pane (the chart too) is on screen (no goal: a figure);
* idle: the same session once every trial finished (nothing changes).

Goals: live < 3 % of a core and < 4 KB/s; idle close to zero.
Usage: python bench/tui_idle.py [--window 30]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
TRAINER = ROOT / "tests" / "progs" / "trainer.py"
SIZE = (24, 80)
WIDE = (40, 120)
WARMUP_S = 5.0
SETTLE_S = 2.0
SETTLED_PCT = 15.0
MAX_WARMUP_S = 90.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its reaped children (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


def cpu_demand(pid: int) -> float:
    """Seconds its threads ran plus waited to run (schedstat): busy even when starved."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as fh:
                ran, waited = fh.read().split()[:2]
        except (OSError, ValueError):
            continue
        total += int(ran) + int(waited)
    return total / 1e9


def measure(
    argv: list[str], env: dict[str, str], window: float, size: tuple[int, int] = SIZE
) -> tuple[float, float, float, float]:
    """(% of one core, bytes/s to the terminal, warm-up s, warm-up CPU s) after a warm-up."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    written = 0
    start_cpu = 0.0
    counting = False
    begin = time.monotonic()
    end = begin + MAX_WARMUP_S + window
    mark, mark_demand, warmup = begin, 0.0, float("nan")
    try:
        while (now := time.monotonic()) < end:
            if not counting and now >= begin + WARMUP_S and now - mark >= SETTLE_S:
                demand = cpu_demand(proc.pid)
                quiet = 100.0 * (demand - mark_demand) / (now - mark) < SETTLED_PCT
                if quiet or now >= begin + MAX_WARMUP_S:
                    counting, written, start_cpu = True, 0, cpu_seconds(proc.pid)
                    warmup, end = now - begin, now + window
                mark, mark_demand = now, demand
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                written += len(chunk) if counting else 0
        used = cpu_seconds(proc.pid) - start_cpu
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return 100.0 * used / window, written / window, warmup, start_cpu


def write_spec(folder: Path, trials: int, epochs: int) -> Path:
    spec = {
        "name": "idle",
        "objective": {"metric": "score", "direction": "maximize"},
        "command": ["{python}", str(TRAINER)],
        "pass_params": "none",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "fixed": {"epochs": epochs, "epoch_s": 1.0},
        "strategy": {"sampler": "random", "n_trials": trials, "seed": 0},
        "resources": {"backend": "local", "cpu_slots": trials, "gpus": 0, "kill_grace_s": 1},
    }
    path = folder / "spec.yaml"
    with open(path, "w") as fh:
        YAML(typ="safe", pure=True).dump(spec, fh)
    return path


def kttui(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kttui", *args], env=env, capture_output=True, text=True, check=True
    )


def wait_finished(store: Path, timeout: float = 60.0) -> None:
    """Until the runner and its trials are gone (the session left its active states)."""
    from kttui.session import ACTIVE_STATES, Session

    deadline = time.monotonic() + timeout
    for path in store.iterdir():
        if path.is_dir():
            while Session(path).state() in ACTIVE_STATES and time.monotonic() < deadline:
                time.sleep(0.2)
    time.sleep(1.0)  # trial processes end after the runner says so


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=30.0, help="seconds measured per case")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kttui-idle-"))
    store = tmp / "store"
    env = {**os.environ, "TERM": "xterm-256color", "KTTUI_HOME": str(store)}
    env["PYTHONPATH"] = str(ROOT)
    # the sweep must outlive the live measurements (the console twice, then top)
    epochs = int(3 * (MAX_WARMUP_S + args.window) + 30)
    spec = write_spec(tmp, 8, epochs)
    kttui("run", str(spec), "--sessions-dir", str(store), env=env)
    attach = [sys.executable, "-m", "kttui", "attach"]
    top = ["top", "-d", "1"]
    rows: list[tuple[str, float, float, float, float]] = []
    try:
        rows.append(("kttui attach, 8 trials × 1 epoch/s", *measure(attach, env, args.window)))
        rows.append(("top -d 1 (same run)", *measure(top, env, args.window)))
        rows.append(("kttui attach, live, 120×40", *measure(attach, env, args.window, WIDE)))
        kttui("shutdown", "--sessions-dir", str(store), env=env)
        wait_finished(store)
        rows.append(("kttui attach, nothing running", *measure(attach, env, args.window)))
        rows.append(("top -d 1 (idle)", *measure(top, env, args.window)))
    finally:
        subprocess.run(
            [sys.executable, "-m", "kttui", "shutdown", "--sessions-dir", str(store)],
            env=env,
            capture_output=True,
        )
    print(f"terminal {SIZE[1]}×{SIZE[0]}, {args.window:.0f} s per case after the warm-up")
    print(f"{'case':40} {'CPU % core':>11} {'bytes/s':>10} {'warm-up s':>10} {'its CPU s':>10}")
    for name, cpu, rate, warmup, warm_cpu in rows:
        print(f"{name:40} {cpu:11.2f} {rate:10.0f} {warmup:10.1f} {warm_cpu:10.2f}")
    print("goals: live < 3 % of a core and < 4096 B/s; idle close to zero")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
