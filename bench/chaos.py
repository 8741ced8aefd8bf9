"""Chaos: kill -9 the runner at random moments and resume; and the loop's latency under load.

Part 1. 24 trials of 4 x 0.5 s epochs on 4 fake GPUs, ``retries: 0``, run once
undisturbed and once with the runner killed (SIGKILL) at 5 random moments, each
followed at once by ``kttui resume``. Prints the COMPLETE count (goal: all),
configs evaluated twice (goal: 0), orphan processes (goal: 0) and the wall time
against the undisturbed run (goal: <= 1.3x).

Part 2. A 500-trial sweep of instant trials with ``stop_when.regret_below``
(the rule refits its model after every completed trial): a client asks
``status`` on the control socket every 20 ms; prints the p50/p99/max answer
time (goal p99 < 50 ms), as the client sees it and as the runner's status child
(kttui/runner/statusd.py) timed its own answers, and what the runner's loop
spent its time on, as the runner measured it (kttui/runner/looptime.py: wall
and CPU time of each stretch of work, so a loaded machine shows as wall time
without CPU).

Everything runs through the real CLI, real processes and a real SQLite study.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import optuna
from kttui.backends import proctree
from ruamel.yaml import YAML

from kttui.control import ControlError, request
from kttui.session import Session, list_sessions

EPOCHS = (
    "import json,os,sys,time\n"
    "p=json.load(open(os.environ['KTTUI_PARAMS']))\n"
    "for e in range(1, int(p['epochs'])+1):\n"
    "    time.sleep(float(p['epoch_s']))\n"
    "    open(os.environ['KTTUI_METRICS'],'a').write(json.dumps("
    "{'epoch': e, 'score': p['x'] * (1 - 0.5**e)})+'\\n')\n"
)


def kttui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kttui", *args], capture_output=True, text=True, timeout=120
    )


def write_spec(root: Path, name: str, **over: Any) -> Path:
    spec: dict[str, Any] = {
        "name": name,
        "objective": {"metric": "score", "direction": "maximize", "summary": "best"},
        "command": ["{python}", "-c", EPOCHS],
        "pass_params": "none",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "fixed": {"epochs": 4, "epoch_s": 0.5},
        "strategy": {"sampler": "random", "n_trials": 24, "seed": 0},
        "resources": {"backend": "local", "gpus": "auto", "trials_per_gpu": 1, "retries": 0},
    }
    spec.update(over)
    path = root / f"{name}.yaml"
    with open(path, "w") as fh:
        YAML(typ="safe", pure=True).dump(spec, fh)
    return path


def start(spec: Path, store: Path) -> Session:
    proc = kttui("run", str(spec), "--sessions-dir", str(store))
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    (session,) = list_sessions(store)
    return session


def wait_state(session: Session, states: tuple[str, ...], timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = session.state()
        if state in states:
            return state
        time.sleep(0.05)
    raise SystemExit(f"{session.id}: still {session.state()} after {timeout:.0f} s")


def undisturbed(root: Path) -> float:
    store = root / "calm"
    t0 = time.monotonic()
    session = start(write_spec(root, "calm"), store)
    wait_state(session, ("finished", "stopped", "crashed"))
    return time.monotonic() - t0


def chaos(root: Path, calm_wall: float, kills: int, rng: random.Random) -> dict[str, Any]:
    store = root / "chaos"
    moments = sorted(rng.uniform(0.5, calm_wall * 0.9) for _ in range(kills))
    t0 = time.monotonic()
    session = start(write_spec(root, "chaos"), store)
    killed = 0
    gaps = []  # kill -> the resumed runner reports running
    cpu: list[float] = []  # the resumed runner's CPU time by then (load-independent)
    steps: list[dict[str, float]] = []  # where the time from kill to first launch goes
    for moment in moments:
        time.sleep(max(0.0, moment - (time.monotonic() - t0)))
        info = session.runner() or {}
        if session.state() not in ("running", "paused", "stopping", "starting"):
            break  # finished before this moment came
        os.kill(int(info["pid"]), 9)
        killed += 1
        t_kill, kill_at = time.monotonic(), time.time()
        deadline = time.monotonic() + 5
        while session.state() != "crashed" and time.monotonic() < deadline:
            time.sleep(0.01)
        seen, cli_at = time.monotonic(), time.time()
        cli_cpu = children_cpu()
        proc = kttui("resume", session.id, "--sessions-dir", str(store))
        if proc.returncode != 0:
            raise SystemExit(f"resume failed: {proc.stderr}")
        gaps.append(time.monotonic() - t_kill)
        pid = int((session.runner() or {}).get("pid") or 0)
        cpu.append(cpu_s(pid))
        step = {
            "detect": seen - t_kill,
            "cli": time.monotonic() - seen,
            "cli_cpu": children_cpu() - cli_cpu,
            "spawn": proc_started(pid) - cli_at,
        }
        for event in session.events():  # the runner's own count, exact under any load
            if event.get("event") == "runner_start" and event.get("pid") == pid:
                step["cpu_running"] = float(event.get("cpu") or 0)
        launch = first_launch(session, kill_at, pid)
        if launch is not None:
            step.update(
                first=launch[0] - proc_started(pid),
                kill_to_first=launch[0] - kill_at,
                cpu_first=launch[1],
            )
        steps.append(step)
    wait_state(session, ("finished", "stopped"))
    wall = time.monotonic() - t0
    study = optuna.load_study(study_name="chaos", storage=f"sqlite:///{session.db_path}")
    used = [t for t in study.trials if not t.user_attrs.get("kttui:unused")]
    complete = [t for t in used if t.state.name == "COMPLETE"]
    launched: dict[str, int] = {}
    for n in session.trial_numbers():  # every trial directory with its params is a launch
        try:  # (none: the runner was killed between making the directory and writing them)
            params = (session.trial_dir(n) / "params.json").read_text()
        except FileNotFoundError:
            continue
        launched[params] = launched.get(params, 0) + 1
    orphans = proctree.find_processes(prefix=f"{session.trial_key}:")
    return {
        "killed": killed,
        "complete": len(complete),
        "states": {s: sum(t.state.name == s for t in used) for s in ("FAIL", "PRUNED")},
        "twice": sum(1 for c in launched.values() if c > 1),
        "orphans": len(orphans),
        "wall": wall,
        "gap": statistics.mean(gaps) if gaps else 0.0,
        "cpu": statistics.mean(cpu) if cpu else 0.0,
        "steps": steps,
    }


def first_launch(session: Session, after: float, pid: int) -> tuple[float, float] | None:
    """(When, the runner's CPU seconds by then) of the first launch after ``after``.

    The CPU is sampled when the event is seen (polled every 5 ms); None when the
    resumed runner launched nothing within 10 s (the budget was all launched).
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and session.state() in ("running", "starting"):
        for event in session.events():
            if event.get("event") == "launch" and float(event.get("ts") or 0) > after:
                return float(event["ts"]), cpu_s(pid)
        time.sleep(0.005)
    return None


def children_cpu() -> float:
    """CPU seconds of this process's waited-for children (the `kttui resume` commands)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def proc_started(pid: int) -> float:
    """When a process started (seconds since the epoch, 10 ms resolution; 0 when gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
    except (OSError, IndexError, ValueError, StopIteration):
        return 0.0
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency(root: Path, trials: int, interval: float) -> tuple[list[float], dict[str, Any]]:
    store = root / "load"
    spec = write_spec(
        root,
        "load",
        fixed={"epochs": 1, "epoch_s": 0.0},
        strategy={"sampler": "random", "n_trials": trials, "seed": 0},
        stop_when={"regret_below": 1e-12, "min_trials": 5},
    )
    session = start(spec, store)
    times: list[float] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            try:
                request(session, "status", timeout=30)
            except ControlError:
                if session.state() not in ("running", "paused", "stopping"):
                    return
                continue
            times.append(time.perf_counter() - t)
            stop.wait(interval)

    client = threading.Thread(target=ask)
    client.start()
    wait_state(session, ("finished", "stopped", "crashed"), timeout=3600)
    stop.set()
    client.join()
    done = sum(1 for s in session.trial_statuses() if s.get("state") == "complete")
    regrets = sum(1 for e in session.events() if e["event"] == "regret")
    print(f"  {done} trials complete, {regrets} regret fits, {len(times)} status requests")
    children = [
        line
        for line in session.runner_log.read_text(errors="replace").splitlines()
        if line.startswith("kttui: status child:")
    ]
    # the answer path itself, as the status child timed it (accepted -> reply sent)
    print("  " + (children[-1].removeprefix("kttui: ") if children else "(no status child)"))
    stops = [e for e in session.events() if e["event"] == "runner_stop"]
    return times, (stops[-1].get("loop") or {}) if stops else {}


def print_loop(loop: dict[str, Any]) -> None:
    """What held the runner's loop, as the runner measured it (load-independent CPU too)."""
    if not loop:
        print("  (the runner recorded no loop times)")
        return
    print(
        f"  the loop, measured inside the runner: {loop['stretches']} stretches of work, "
        f"p50 {loop['p50_ms']:.1f} ms, p99 {loop['p99_ms']:.1f} ms, max {loop['max_ms']:.1f} ms, "
        f"{loop['slow']} over 50 ms; the runner's CPU {loop.get('process_cpu_s', 0):.1f} s"
    )
    print("    phase (nested ones indented in the code)   count   wall s    CPU s   max ms  >50ms")
    for name, ph in loop["phases"].items():
        print(
            f"    {name:40s} {ph['count']:6d} {ph['wall_s']:8.2f} {ph['cpu_s']:8.2f} "
            f"{ph['max_ms']:8.1f} {ph['slow']:6d}"
        )
    worst = ", ".join(
        f"{w['phase']} {w['wall_ms']:.0f} ms (CPU {w['cpu_ms']:.0f})" for w in loop["worst"]
    )
    print(f"    longest: {worst}")


def print_steps(steps: list[dict[str, float]]) -> None:
    """Where the time from a kill to the resumed runner's first launch goes (averages)."""
    if not steps:
        return

    def mean(key: str) -> str:
        values = [s[key] for s in steps if key in s]
        return f"{statistics.mean(values):.2f}" if values else "-"

    print(
        f"    kill -> seen crashed {mean('detect')} s; `kttui resume` {mean('cli')} s wall "
        f"(its own CPU {mean('cli_cpu')} s; it starts the runner after {mean('spawn')} s)"
    )
    print(
        f"    runner process start -> first launch {mean('first')} s wall; "
        f"kill -> first launch {mean('kill_to_first')} s"
    )
    print(
        f"    runner CPU: {mean('cpu_running')} s when it says running, "
        f"{mean('cpu_first')} s at its first launch (sampled: an upper bound under load)"
    )
    # the runner is the command forked: the command's CPU up to the fork is start-up too
    totals = [s["cli_cpu"] + s["cpu_running"] for s in steps if "cpu_running" in s]
    if totals:
        print(
            f"    CPU to running again (the command's + the runner's): "
            f"{statistics.mean(totals):.2f} s"
        )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--load-trials", type=int, default=500)
    p.add_argument("--skip-load", action="store_true")
    p.add_argument("--only-load", action="store_true", help="part 2 only")
    args = p.parse_args()
    os.environ["KTTUI_FAKE_GPUS"] = "4"
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    root = Path(tempfile.mkdtemp(prefix="kttui-chaos-"))
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average; 2 cores shared: wall is load-bound)")
    if args.only_load:
        load_part(root, args.load_trials)
        return
    print(f"chaos: 24 trials x 4 x 0.5 s epochs, 4 fake GPUs, retries 0 (seed {seed}, {root})")
    calm = undisturbed(root)
    result = chaos(root, calm, args.kills, random.Random(seed))
    print(
        f"  kill -9 of the runner + resume: {result['killed']} times "
        f"(kill to resumed runner running: {result['gap']:.1f} s on average; "
        f"the resumed runner's CPU time by then: {result['cpu']:.2f} s)"
    )
    print_steps(result["steps"])
    print(f"  COMPLETE: {result['complete']}/24 (goal 24); other: {result['states']}")
    print(f"  configs evaluated twice: {result['twice']} (goal 0)")
    print(f"  orphan processes: {result['orphans']} (goal 0)")
    ratio = result["wall"] / calm
    print(
        f"  wall time: {result['wall']:.1f} s vs {calm:.1f} s undisturbed = {ratio:.2f}x "
        "(goal <= 1.3x)"
    )
    if args.skip_load:
        return
    load_part(root, args.load_trials)


def load_part(root: Path, trials: int) -> None:
    """Part 2: `status` latency during a long sweep, and what held the runner's loop."""
    print(f"loop latency: `status` on the socket every 20 ms, {trials}-trial sweep")
    print("  with stop_when.regret_below (a model fit after every completed trial)")
    answers, loop = latency(root, trials, 0.02)
    times = sorted(answers)
    if times:
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(
            f"  status answer: p50 {statistics.median(times) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms (goal p99 < 50 ms)"
        )
    print_loop(loop)


if __name__ == "__main__":
    main()
