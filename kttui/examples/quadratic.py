"""A stand-in training script: a learning curve whose plateau depends on the params.

Run as ``python -m kttui.examples.quadratic --lr 0.01 --width 64 ...``. It
behaves like a small training job (one metric line per epoch, a final line)
so the quickstart spec shows a real sweep, pruning included, in seconds and
with no dependency beyond the standard library.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time

from kttui.trial import report, report_final


def plateau(lr: float, width: int, dropout: float, use_bias: bool) -> float:
    """Best reachable score: peaks at lr=3e-3, width=128, dropout=0.2, bias on."""
    score = 0.80
    score -= 0.05 * (math.log10(lr) - math.log10(3e-3)) ** 2
    score -= 0.02 * (math.log2(width) - 7) ** 2 / 4
    score -= 0.3 * (dropout - 0.2) ** 2
    score += 0.01 if use_bias else 0.0
    return score


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--use_bias", default="True")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--epoch_s", type=float, default=0.05, help="seconds per epoch")
    p.add_argument("--seed", type=int, default=0)
    args, unknown = p.parse_known_args(argv)
    if unknown:
        print(f"ignoring unknown arguments: {' '.join(unknown)}", file=sys.stderr)
    rng = random.Random(args.seed * 7919 + int(args.width) + round(args.lr * 1e6))
    top = plateau(args.lr, args.width, args.dropout, str(args.use_bias).lower() in ("true", "1"))
    speed = 0.5 + 2.0 * min(1.0, args.lr / 3e-3)
    best = 0.0
    for epoch in range(1, args.epochs + 1):
        time.sleep(args.epoch_s)
        value = 0.5 + (top - 0.5) * (1 - math.exp(-speed * epoch / 3)) + rng.gauss(0, 0.002)
        best = max(best, value)
        report(epoch=epoch, val_auc=round(value, 5), train_loss=round(1 - value + 0.1, 5))
    report_final(val_auc=round(best, 5), test_auc=round(best - 0.004, 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
