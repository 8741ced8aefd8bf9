"""`kttui import csv` of a 300 000-row results table, end to end. Goal: < 10 s.

Times the command as a user runs it (a subprocess: start-up, reading and
checking the CSV, writing the session), and the two phases in-process, so a
regression shows where it is. Prints wall and CPU time, peak RSS and the load
average for 10 000, 100 000 and 300 000 rows (``--rows`` to choose).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kttui.importers import write_session
from kttui.importers.csv_source import read_csv


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(0)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["lr", "d_model", "n_layers", "dropout", "optimizer", "val_auc", "train_loss"])
        for _ in range(rows):
            out.writerow(
                [
                    f"{10 ** rng.uniform(-5, -2):.6g}",
                    rng.choice([64, 128, 256, 512]),
                    rng.randint(1, 6),
                    f"{rng.uniform(0, 0.5):.3f}",
                    rng.choice(["adam", "sgd"]),
                    f"{rng.uniform(0.6, 0.8):.5f}",
                    f"{rng.uniform(0.3, 0.7):.5f}",
                ]
            )


def measure(tmp: Path, rows: int) -> None:
    table = tmp / f"results-{rows}.csv"
    write_csv(table, rows)
    size_mb = table.stat().st_size / 1e6
    load = os.getloadavg()[0]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    imp = read_csv(table, objective="val_auc")
    read_s, read_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    write_session(tmp / f"store-inprocess-{rows}", imp)
    write_s, write_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    del imp

    store = tmp / f"store-cli-{rows}"
    cmd = [sys.executable, "-m", "kttui", "import", "csv", str(table), "--objective", "val_auc"]
    cmd += ["--sessions-dir", str(store)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    cli_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"kttui import failed: {done.stderr.strip()}")
    cli_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    leftovers = list(store.glob(".import-*"))

    print(f"rows: {rows:,} ({size_mb:.1f} MB of CSV), load average before: {load:.2f}")
    print(f"  read + check (in-process): {read_s:.2f} s wall, {read_cpu:.2f} s CPU")
    print(f"  write session (in-process): {write_s:.2f} s wall, {write_cpu:.2f} s CPU")
    print(f"  kttui import csv, end to end: {cli_s:.2f} s wall, {cli_cpu:.2f} s CPU  (goal < 10 s)")
    # ru_maxrss of children is the largest child so far: rows go in increasing order
    print(f"  peak RSS of kttui import: {after.ru_maxrss / 1024:.0f} MB")
    print(f"  rows per CPU second (end to end): {rows / cli_cpu:,.0f}")
    print(f"  hidden .import-* folders left: {len(leftovers)} (goal 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rows", default="10000,100000,300000", help="comma-separated row counts, ascending"
    )
    args = parser.parse_args()
    counts = sorted(int(n) for n in args.rows.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="kttui-bench-import-"))
    try:
        for rows in counts:
            measure(tmp, rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print("(wall time depends on the machine's load; CPU time much less so)")


if __name__ == "__main__":
    main()
