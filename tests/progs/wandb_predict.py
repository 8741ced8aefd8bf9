"""A stand-in for pykt-toolkit's examples/wandb_predict.py: reads the save folder the
training stand-in wrote and prints pykt's test line. ``--fail_above LR`` exits 3 for
trials whose learning rate is above LR (an evaluation that fails)."""

import argparse
import json
import os
import sys

p = argparse.ArgumentParser()
p.add_argument("--save_dir", required=True)
p.add_argument("--use_wandb", type=int, default=1)
p.add_argument("--fail_above", type=float, default=None)
args = p.parse_args()
with open(os.path.join(args.save_dir, "config.json")) as fh:
    params = json.load(fh)["params"]
lr = float(params["learning_rate"])
if args.fail_above is not None and lr > args.fail_above:
    print("RuntimeError: checkpoint does not match the model", file=sys.stderr)
    sys.exit(3)
auc = 0.65 + 100 * lr
print(f"testauc: {auc}, testacc: {auc - 0.05}, window_testauc: {auc + 0.01}, window_testacc: -1")
