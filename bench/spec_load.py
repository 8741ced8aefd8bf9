"""Validating hostile specs: 200 000 choices on one line, a 1e-300 step, huge expressions.

Prints the time and peak memory (tracemalloc) of ``load_spec_text`` for each;
the goal for every error case is well under 1 s, and linear time for the
choices (the YAML parser's own speed is the floor).
"""

from __future__ import annotations

import time
import tracemalloc

from kttui.specload import SpecError, load_spec_text

HEAD = "name: b\nobjective: {metric: s}\ncommand: [python, t.py, '{x}']\n"
CASES = {
    "200 000 choices on one line": HEAD
    + "space:\n  x: {type: categorical, choices: ["
    + ", ".join(str(i) for i in range(200_000))
    + "]}\nstrategy: {n_trials: 5}\n",
    "step 1e-300": HEAD
    + "space:\n  x: {type: float, low: 0.0, high: 1.0, step: 1.0e-300}\nstrategy: {n_trials: 5}\n",
    "step 1e-7 (10 million points, counted)": HEAD
    + "space:\n  x: {type: float, low: 0.0, high: 1.0, step: 1.0e-7}\nstrategy: {n_trials: 5}\n",
    "((((9**64)**64)**64)**64)**64 > x": HEAD
    + "space:\n  x: {type: float, low: 0.0, high: 1.0}\nstrategy: {n_trials: 5}\n"
    + "constraints: ['((((9**64)**64)**64)**64)**64 > x']\n",
    "YAML nested 20 000 deep": HEAD + "fixed: {a: " + "[" * 20_000 + "]" * 20_000 + "}\n",
}


def main() -> None:
    for name, text in CASES.items():
        tracemalloc.start()
        start = time.perf_counter()
        try:
            load_spec_text(text, "bench.yaml")
            outcome = "valid"
        except SpecError as exc:
            outcome = str(exc.issues[0])[:70]
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"{name:42s} {elapsed:7.3f} s {peak:8.1f} MB  {outcome}")


if __name__ == "__main__":
    main()
