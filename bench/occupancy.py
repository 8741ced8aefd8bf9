"""Slot occupancy: 4 fake GPU slots, 40 trials of 1 s each. Goal: >= 97 %.

Occupancy = time slots spent with a trial process running / (slots x makespan),
from the runner's own launch/finish events.
"""

from __future__ import annotations

import argparse
import os

from _common import run_sweep

SLEEP = (
    "import os,time;time.sleep({s});open(os.environ['KTTUI_METRICS'],'a')"
    '.write(\'{{"epoch": 1, "v": 1.0}}\\n\')'
)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=40)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--gpus", type=int, default=4)
    args = p.parse_args()
    os.environ["KTTUI_FAKE_GPUS"] = str(args.gpus)
    spec = {
        "name": "occupancy",
        "objective": {"metric": "v"},
        "command": ["{python}", "-c", SLEEP.format(s=args.seconds)],
        "pass_params": "none",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "strategy": {"sampler": "tpe", "n_trials": args.n, "seed": 0},
        "resources": {"gpus": "auto", "trials_per_gpu": 1},
    }
    session, wall = run_sweep(spec)
    launches, finishes = {}, {}
    for e in session.events():
        if e["event"] == "launch":
            launches[e["trial"]] = e["ts"]
        elif e["event"] == "finish":
            finishes[e["trial"]] = e["ts"]
    assert len(finishes) == args.n
    busy = sum(finishes[n] - launches[n] for n in finishes)
    makespan = max(finishes.values()) - min(launches.values())
    ideal = args.n * args.seconds / args.gpus
    print(f"{args.n} trials x {args.seconds:g} s on {args.gpus} fake GPU slots (TPE sampler)")
    print(f"makespan {makespan:.2f} s (ideal {ideal:.2f} s), runner wall {wall:.2f} s")
    print(f"slot occupancy: {100 * busy / (args.gpus * makespan):.1f} % (goal >= 97 %)")


if __name__ == "__main__":
    main()
