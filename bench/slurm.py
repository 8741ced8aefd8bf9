"""SlurmBackend vs raw ``sbatch`` on the local test cluster (tests/infra/slurm_up.sh).

Measured in one run on this machine, the same trivial job both ways:

1. submit -> running latency, one job at a time: from the start of the submission
   to the job's first instruction (a timestamp it writes), and, for the backend, to
   the first ``poll()`` that says "running" (adds up to ``poll_s``);
2. throughput: N jobs submitted at once, submissions per second and jobs finished
   per second (the cluster runs 8 one-CPU jobs at a time);
3. queue load: ``squeue`` calls per minute while 200 trials stay pending and a
   runner-like loop calls ``poll`` and ``capacity`` every 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from kttui.backends.base import BackendConfig, Handle, TrialRequest
from kttui.backends.slurm import SlurmBackend

STAMP = 'date +%s.%N > "$KTTUI_TRIAL_DIR/started"'
MEM = "64M"


def request(root: Path, session: str, n: int, argv: list[str]) -> TrialRequest:
    tdir = root / "trials" / str(n)
    tdir.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KTTUI_TRIAL_DIR": str(tdir)}
    return TrialRequest(
        n, argv, env, root, tdir, tdir / "stdout.log", tdir / "stderr.log", f"{session}:{n}"
    )


def raw_sbatch(tdir: Path, name: str) -> str:
    tdir.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(
        [
            "sbatch", "--parsable", f"--job-name={name}", f"--mem={MEM}", "--no-requeue",
            "-o", str(tdir / "stdout.log"), "--chdir", str(tdir),
            "--wrap", f"date +%s.%N > {tdir}/started; echo 0 > {tdir}/exit_code",
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return res.stdout.strip().split(";")[0]


def wait_file(path: Path, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = path.read_text().strip()
        except OSError:
            text = ""
        if text:
            return float(text)
        time.sleep(0.005)
    raise SystemExit(f"{path} never appeared")


def latency(root: Path, k: int, poll_s: float) -> None:
    session = f"lat{uuid.uuid4().hex[:6]}"
    raw: list[float] = []
    for i in range(k):
        tdir = root / "raw" / str(i)
        t0 = time.time()
        raw_sbatch(tdir, f"bench-raw-{session}-{i}")
        raw.append(wait_file(tdir / "started") - t0)
    b = SlurmBackend(BackendConfig(gpus=0, options={"poll_s": poll_s, "mem": MEM}))
    started: list[float] = []
    seen: list[float] = []
    for i in range(k):
        t0 = time.time()
        h = b.submit(request(root / "kttui", session, i, ["sh", "-c", STAMP]))
        while True:
            st = b.poll([h])[h.job_id]
            if st.state != "queued":
                seen.append(time.time() - t0)
                break
            time.sleep(0.01)
        started.append(wait_file(root / "kttui" / "trials" / str(i) / "started") - t0)
        while b.poll([h])[h.job_id].state != "done":
            time.sleep(0.02)
        b.release(h)
    print(f"submit -> running, {k} jobs one at a time (median, min-max):")
    print(f"  raw sbatch --wrap         : {fmt(raw)}")
    print(f"  SlurmBackend (job starts) : {fmt(started)}")
    print(f"  SlurmBackend (poll sees it, poll_s={poll_s:g}): {fmt(seen)}")


def throughput(root: Path, n: int, poll_s: float) -> None:
    session = f"thr{uuid.uuid4().hex[:6]}"
    t0 = time.perf_counter()
    for i in range(n):
        raw_sbatch(root / "rawthr" / str(i), f"bench-raw-{session}-{i}")
    raw_submit = time.perf_counter() - t0
    for i in range(n):
        wait_file(root / "rawthr" / str(i) / "exit_code", 120)
    raw_total = time.perf_counter() - t0

    b = SlurmBackend(BackendConfig(gpus=0, options={"poll_s": poll_s, "mem": MEM}))
    t0 = time.perf_counter()
    handles: list[Handle] = [
        b.submit(request(root / "thr", session, i, ["sh", "-c", STAMP])) for i in range(n)
    ]
    sub = time.perf_counter() - t0
    pending = list(handles)
    files_at = None
    while pending:
        statuses = b.poll(pending)
        pending = [h for h in pending if statuses[h.job_id].state != "done"]
        if files_at is None and all(
            (root / "thr" / "trials" / str(i) / "exit_code").exists() for i in range(n)
        ):
            files_at = time.perf_counter() - t0
        time.sleep(0.05)
    total = time.perf_counter() - t0
    files = files_at or total
    print(f"throughput, {n} jobs submitted at once (8 run at a time):")
    raw_rates = f"submit {n / raw_submit:6.1f} jobs/s, all done {n / raw_total:5.1f} jobs/s"
    print(f"  raw sbatch   : {raw_rates}")
    print(
        f"  SlurmBackend : submit {n / sub:6.1f} jobs/s, all done {n / files:5.1f} jobs/s "
        f"(exit_code files), {n / total:5.1f} jobs/s as seen by poll (poll_s={poll_s:g})"
    )


def queue_load(root: Path, n: int, seconds: float, poll_s: float) -> None:
    session = f"load{uuid.uuid4().hex[:6]}"
    b = SlurmBackend(
        BackendConfig(
            gpus=0,
            options={
                "poll_s": poll_s,
                "mem": MEM,
                "max_pending": n,
                "sbatch_args": ["--begin=now+3600"],
            },
        )
    )
    try:
        t0 = time.perf_counter()
        handles: list[Handle] = []
        while b.capacity() > 0:
            handles.append(b.submit(request(root / "load", session, len(handles), ["true"])))
        sub = time.perf_counter() - t0
        before = b.stats.squeue_calls
        t0 = time.perf_counter()
        ticks = 0
        poll_cost: list[float] = []
        while time.perf_counter() - t0 < seconds:
            c0 = time.perf_counter()
            statuses = b.poll(handles)
            b.capacity()
            poll_cost.append(time.perf_counter() - c0)
            ticks += 1
            time.sleep(0.2)
        elapsed = time.perf_counter() - t0
        calls = b.stats.squeue_calls - before
        queued = sum(1 for s in statuses.values() if s.state == "queued")
        t1 = time.perf_counter()
        subprocess.run(
            ["squeue", "-h", "-t", "all", "-j", ",".join(h.job_id for h in handles)],
            capture_output=True,
            check=True,
        )
        one = time.perf_counter() - t1
        print(f"queue load, {len(handles)} trials pending ({queued} seen queued), {elapsed:.0f} s:")
        print(f"  submitted {len(handles)} in {sub:.1f} s ({len(handles) / sub:.0f} jobs/s)")
        print(
            f"  squeue calls: {calls} = {calls / elapsed * 60:.1f}/min with poll_s={poll_s:g} "
            f"({ticks} poll+capacity ticks; one per job would be {ticks * len(handles)})"
        )
        med, worst = statistics.median(poll_cost) * 1000, max(poll_cost) * 1000
        print(
            f"  one squeue for all {len(handles)} jobs: {one * 1000:.0f} ms; "
            f"poll()+capacity() median {med:.2f} ms, max {worst:.0f} ms"
        )
    finally:
        print(f"  cancelled {b.cleanup(session)} jobs")


def fmt(values: list[float]) -> str:
    return (
        f"{statistics.median(values) * 1000:7.0f} ms "
        f"({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency-jobs", type=int, default=8)
    p.add_argument("--jobs", type=int, default=40)
    p.add_argument("--pending", type=int, default=200)
    p.add_argument("--seconds", type=float, default=60.0, help="queue-load duration")
    p.add_argument("--poll-s", type=float, default=5.0, help="poll_s for the queue load")
    args = p.parse_args()
    if shutil.which("sbatch") is None:
        raise SystemExit("no sbatch: start the test cluster with tests/infra/slurm_up.sh")
    root = Path(tempfile.mkdtemp(prefix="kttui-bench-slurm-"))
    try:
        latency(root, args.latency_jobs, poll_s=0.5)
        throughput(root, args.jobs, poll_s=0.5)
        queue_load(root, args.pending, args.seconds, args.poll_s)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
