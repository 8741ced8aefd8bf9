"""Per-trial orchestration overhead of no-op trials vs the bare spawn floor.

Both are measured in this one run on this machine: the floor is spawning the
same no-op program sequentially with subprocess; kttui runs it as N trials on
one slot (ask, launch, tail, tell, status files). Goal: within 50 ms.
"""

from __future__ import annotations

import argparse

from _common import PY, run_sweep, time_command

NOOP = (
    "import os;open(os.environ.get('KTTUI_METRICS','/dev/null'),'a')"
    '.write(\'{"epoch": 1, "v": 1.0}\\n\')'
)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=40)
    args = p.parse_args()
    floor = time_command([PY, "-c", NOOP], args.n)
    spec = {
        "name": "overhead",
        "objective": {"metric": "v"},
        "command": ["{python}", "-c", NOOP],
        "pass_params": "none",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "strategy": {"sampler": "random", "n_trials": args.n, "seed": 0},
        "resources": {"cpu_slots": 1},
    }
    session, wall = run_sweep(spec)
    states = [s["state"] for s in session.trial_statuses()]
    assert states.count("complete") == args.n, states
    per_trial = wall / args.n
    floor_mean = sum(floor) / len(floor)
    print(f"trials: {args.n} no-op trials on 1 slot")
    print(f"spawn floor (python -c, sequential): {floor_mean * 1000:.1f} ms per process")
    print(f"kttui per trial (ask..tell, files):   {per_trial * 1000:.1f} ms per trial")
    print(
        f"orchestration overhead:               {(per_trial - floor_mean) * 1000:.1f} ms "
        f"per trial (goal <= 50 ms)"
    )


if __name__ == "__main__":
    main()
