"""Search strategies on surrogate objectives with a known optimum (no GPU, no processes).

Two surrogates: a response surface shaped like seed 000's GainAKT4 grid (216
points: learning rate, d_model, d_ff, dropout, depth) and a synthetic 4 800-point
space (categorical model, ordinal width/depth, log-spaced learning rate, dropout)
with observation noise. Each kttui strategy runs through the runner's own
Proposer (zero duplicates, constraints, exhaustion) against plain Optuna TPE
and a shuffled grid, over several seeds, side by side in one run. Printed per
strategy: duplicate evaluations in the first 50 trials, trials until the true
optimum is reached within the noise, best true value after 50 trials; then
pruning's epoch savings at equal final quality.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from kttui.proposer import Proposer
from kttui.specload import load_spec_text
from kttui.strategies import make_plan, suggest

warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.ERROR)


@dataclass
class Surrogate:
    name: str
    space_yaml: str
    f: Callable[[dict[str, Any]], float]
    noise: float


def gainakt_surface(c: dict[str, Any]) -> float:
    """Additive effects read off seed 000's appendix, plus the lr curvature it never tried."""
    v = 0.7177
    v += {256: 0.0008, 384: -0.0009, 512: -0.0030}[c["d_model"]]
    v += {1024: -0.0008, 1536: 0.0008}[c["d_ff"]]
    v += {0.1: -0.0010, 0.15: 0.0002, 0.2: 0.0006, 0.3: 0.0010}[c["dropout"]]
    v += {4: -0.0019, 6: 0.0004, 8: 0.0011}[c["blocks"]]
    v -= 0.004 * (math.log10(c["lr"]) - math.log10(2e-4)) ** 2
    v += 0.0006 if (c["blocks"] == 8 and c["dropout"] >= 0.2) else 0.0
    return v


def synthetic(c: dict[str, Any]) -> float:
    v = {"dkt": 0.760, "sakt": 0.768, "akt": 0.774}[c["model"]]
    v -= 0.006 * (math.log2(c["d_model"]) - 7) ** 2
    v -= 0.004 * (c["n_layers"] - 2.5) ** 2
    v -= 0.010 * (math.log10(c["lr"]) + 2.8) ** 2
    v -= 0.05 * (c["dropout"] - 0.3) ** 2
    if c["model"] == "akt" and c["n_layers"] >= 3:
        v += 0.003
    return v


SURROGATES = [
    Surrogate(
        "seed-000 surface (216 points)",
        """
space:
  lr: {type: categorical, choices: [5.0e-5, 1.0e-4, 2.0e-4]}
  d_model: {type: categorical, choices: [256, 384, 512]}
  d_ff: {type: categorical, choices: [1024, 1536]}
  dropout: {type: categorical, choices: [0.1, 0.15, 0.2, 0.3]}
  blocks: {type: categorical, choices: [4, 6, 8]}
""",
        gainakt_surface,
        0.0005,
    ),
    Surrogate(
        "synthetic (4 800 points)",
        """
space:
  model: {type: categorical, choices: [dkt, sakt, akt]}
  d_model: {type: categorical, choices: [32, 64, 128, 256]}
  n_layers: {type: int, low: 1, high: 4}
  lr: {type: categorical, choices: [1.0e-4, 1.7e-4, 2.8e-4, 4.6e-4, 7.7e-4, 1.3e-3,
                                    2.2e-3, 3.6e-3, 6.0e-3, 1.0e-2]}
  dropout: {type: float, low: 0.0, high: 0.9, step: 0.1}
""",
        synthetic,
        0.002,
    ),
]


def spec_for(s: Surrogate, sampler: str, n: int, seed: int) -> Any:
    text = f"name: b\nobjective: {{metric: v}}\ncommand: [x]\n{s.space_yaml}\n"
    text += f"strategy: {{sampler: {sampler}, n_trials: {n}, seed: {seed}}}\n"
    return load_spec_text(text)


@dataclass
class Run:
    values: list[float]  # true values in evaluation order
    duplicates: int


def run_kttui(s: Surrogate, sampler: str, n: int, seed: int) -> Run:
    loaded = spec_for(s, sampler, n, seed)
    plan = make_plan(loaded.spec, loaded.space)
    study = optuna.create_study(direction="maximize", sampler=plan.sampler)
    proposer = Proposer(study, loaded.space, seed=seed)
    proposer.load([], plan.queue, plan.budget)
    rng = random.Random(seed)
    values: list[float] = []
    while len(values) < n and not proposer.exhausted:
        prepared = proposer.next()
        if prepared is None:
            continue
        proposer.record_launch(prepared)
        true = s.f(prepared.params)
        values.append(true)
        study.tell(prepared.trial, true + rng.gauss(0, s.noise))
    return Run(values, 0)


def run_plain_tpe(s: Surrogate, n: int, seed: int) -> Run:
    loaded = spec_for(s, "random", n, seed)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    rng = random.Random(seed)
    seen: set[Any] = set()
    values, dups = [], 0
    for i in range(n):
        trial = study.ask()
        params = suggest(trial, loaded.space)
        key = loaded.space.canonical(params)
        dups += key in seen and i < 50  # repeats among the first 50, as the issue counts them
        seen.add(key)
        true = s.f(params)
        values.append(true)
        study.tell(trial, true + rng.gauss(0, s.noise))
    return Run(values, dups)


def trials_to(values: list[float], target: float) -> int | None:
    for i, v in enumerate(values, 1):
        if v >= target:
            return i
    return None


def summarize(
    s: Surrogate, runs: list[Run], optimum: float, grid_median: float, size: int, first: int = 50
) -> tuple[str, ...]:
    hits = [trials_to(r.values, optimum - s.noise) for r in runs]
    reached = [h for h in hits if h is not None]
    med = statistics.median(reached) if reached else math.nan
    best = [max(r.values[:first]) for r in runs]
    return (
        f"{statistics.mean(r.duplicates for r in runs):.1f}",
        f"{med:.0f}" if reached else "never",
        f"{med / size:.3f}" if reached else "-",
        f"{med / grid_median:.2f}" if reached else "-",
        f"{len(reached)}/{len(runs)}",
        f"{statistics.mean(best):.5f}",
        f"{optimum - statistics.mean(best):.5f}",
    )


def pruning_savings(
    s: Surrogate, seeds: int, n: int = 50, epochs: int = 20
) -> tuple[float, float, float]:
    """Total epochs and final best with and without a median pruner (kttui tpe)."""
    results = {}
    for pruner in ("none", "median"):
        epochs_used, bests = 0, []
        for seed in range(seeds):
            loaded = spec_for(s, "tpe", n, seed)
            plan = make_plan(loaded.spec, loaded.space)
            p = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3)
            study = optuna.create_study(
                direction="maximize",
                sampler=plan.sampler,
                pruner=p if pruner == "median" else optuna.pruners.NopPruner(),
            )
            proposer = Proposer(study, loaded.space, seed=seed)
            rng = random.Random(seed)
            best = -math.inf
            for _ in range(n):
                prepared = None
                while prepared is None and not proposer.exhausted:
                    prepared = proposer.next()
                if prepared is None:
                    break
                proposer.record_launch(prepared)
                top = s.f(prepared.params)
                pruned = False
                for e in range(1, epochs + 1):
                    epochs_used += 1
                    seen = top - 0.05 * math.exp(-e / 4) + rng.gauss(0, s.noise)
                    prepared.trial.report(seen, e)
                    if prepared.trial.should_prune():
                        pruned = True
                        break
                if pruned:
                    study.tell(prepared.trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    study.tell(prepared.trial, top + rng.gauss(0, s.noise))
                    best = max(best, top)
            bests.append(best)
        results[pruner] = (epochs_used, statistics.mean(bests))
    saved = 1 - results["median"][0] / results["none"][0]
    return saved, results["none"][1], results["median"][1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("-n", type=int, default=200, help="trials per run")
    args = ap.parse_args()
    strategies = ["tpe", "extremes+tpe", "random", "qmc"]
    for s in SURROGATES:
        loaded = spec_for(s, "grid", 1, 0)
        points = list(loaded.space.points())
        optimum = max(s.f(p) for p in points)
        grid_runs = [run_kttui(s, "grid", len(points), seed) for seed in range(args.seeds)]
        grid_hits = [trials_to(r.values, optimum - s.noise) for r in grid_runs]
        grid_median = statistics.median(h for h in grid_hits if h is not None)
        print(
            f"\n## {s.name}: optimum {optimum:.5f}, noise sd {s.noise}, {args.seeds} seeds, "
            f"{args.n} trials per run; 'to optimum' = trials until a config within one noise "
            f"sd of the optimum (median), as a share of the grid's size and of what a "
            f"shuffled grid "
            f"needs ({grid_median:.0f})"
        )
        print(
            f"{'strategy':<20}{'dups@50':>8}{'to optimum':>11}{'/size':>7}{'/shuffled':>10}"
            f"{'reached':>9}"
            f"{'best@50':>10}{'gap@50':>9}"
        )
        rows = [("grid", *summarize(s, grid_runs, optimum, grid_median, len(points)))]
        plain = [run_plain_tpe(s, args.n, seed) for seed in range(args.seeds)]
        rows.append(("optuna TPE (plain)", *summarize(s, plain, optimum, grid_median, len(points))))
        for name in strategies:
            runs = [run_kttui(s, name, args.n, seed) for seed in range(args.seeds)]
            rows.append((f"kttui {name}", *summarize(s, runs, optimum, grid_median, len(points))))
        for r in rows:
            print(f"{r[0]:<20}{r[1]:>8}{r[2]:>11}{r[3]:>7}{r[4]:>10}{r[5]:>9}{r[6]:>10}{r[7]:>9}")
    s = SURROGATES[1]
    saved, best_none, best_median = pruning_savings(s, args.seeds)
    print(f"\n## pruning ({s.name}, kttui tpe, 50 trials x 20 epochs, median pruner)")
    print(
        f"epochs saved: {saved:.0%}; mean best true value {best_none:.5f} without pruning, "
        f"{best_median:.5f} with"
    )


if __name__ == "__main__":
    main()
