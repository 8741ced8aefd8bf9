"""`kttui import csv` of a 300 000-row results table, end to end. Goal: < 10 s.

Times the command as a user runs it (a subprocess: start-up, reading and
checking the CSV, writing the session), and the two phases in-process, so a
regression shows where it is.
"""

from __future__ import annotations

import argparse
import csv
import random
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kttui-bench-import-"))
    table = tmp / "results.csv"
    write_csv(table, args.rows)
    size_mb = table.stat().st_size / 1e6

    start = time.perf_counter()
    imp = read_csv(table, objective="val_auc")
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    write_session(tmp / "store-inprocess", imp)
    write_s = time.perf_counter() - start

    cmd = [sys.executable, "-m", "kttui", "import", "csv", str(table), "--objective", "val_auc"]
    cmd += ["--sessions-dir", str(tmp / "store-cli")]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    cli_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kttui import failed: {done.stderr.strip()}")
    leftovers = list((tmp / "store-cli").glob(".import-*"))

    print(f"rows: {args.rows:,} ({size_mb:.1f} MB of CSV)")
    print(f"read + check (in-process): {read_s:.2f} s")
    print(f"write session (in-process): {write_s:.2f} s")
    print(f"kttui import csv, end to end: {cli_s:.2f} s  (goal < 10 s)")
    print(f"rows per second (end to end): {args.rows / cli_s:,.0f}")
    print(f"hidden .import-* folders left: {len(leftovers)} (goal 0)")


if __name__ == "__main__":
    main()
