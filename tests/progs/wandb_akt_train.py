"""A stand-in for pykt-toolkit's examples/wandb_akt_train.py: same argv, same epoch lines,
and the same save folder (under --save_dir, named after every flag, as pykt does).

It prints exactly pykt's per-epoch line on stdout, through a plain print (block
buffered when stdout is a file unless PYTHONUNBUFFERED is set), so the test
checks that every epoch still reaches the study.
"""

import argparse
import json
import os
import sys
import time

p = argparse.ArgumentParser()
for name in (
    "dataset_name",
    "model_name",
    "emb_type",
    "save_dir",
    "fold",
    "seed",
    "dropout",
    "learning_rate",
    "d_model",
    "d_ff",
    "num_attn_heads",
    "n_blocks",
    "use_wandb",
    "add_uuid",
):
    p.add_argument(f"--{name}", required=True)
p.add_argument("--epochs", type=int, default=4)
args = p.parse_args()
assert args.use_wandb == "0" and args.add_uuid == "0"
ckpt = os.path.join(args.save_dir, "_".join(str(v) for v in vars(args).values()))
os.makedirs(ckpt, exist_ok=True)
with open(os.path.join(ckpt, "config.json"), "w") as fh:
    json.dump({"params": vars(args)}, fh)
print(
    f"Start training model: {args.model_name}, embtype: {args.emb_type}, save_dir: {args.save_dir}"
)
best_auc, best_epoch = 0.0, 0
lr = float(args.learning_rate)
for epoch in range(1, args.epochs + 1):
    time.sleep(0.02)
    auc = 0.70 + 0.01 * epoch * min(1.0, lr * 1e4) - float(args.dropout) * 0.01
    if auc > best_auc:
        best_auc, best_epoch = auc, epoch
    print(
        f"Epoch: {epoch}, validauc: {auc:.4}, validacc: {auc - 0.02:.4}, best epoch: "
        f"{best_epoch}, best auc: {best_auc:.4}, train loss: {1 - auc:.4}, emb_type: "
        f"{args.emb_type}, model: {args.model_name}, save_dir: {args.save_dir}"
    )
    print("            testauc: -1, testacc: -1, window_testauc: -1, window_testacc: -1")
print("fold\tmodelname\tembtype\ttestauc\ttestacc\twindow_testauc\twindow_testacc", end="")
print("\tvalidauc\tvalidacc\tbest_epoch")
print(f"{args.fold}\t{args.model_name}\t{args.emb_type}\t-1\t-1\t-1\t-1", end="")
print(f"\t{best_auc}\t{best_auc - 0.02}\t{best_epoch}")
sys.exit(0)
