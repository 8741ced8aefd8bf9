"""A stand-in for pykt-toolkit's examples/wandb_train.py: same argv, same epoch lines.

It prints exactly pykt's per-epoch line on stdout, through a plain print (block
buffered when stdout is a file unless PYTHONUNBUFFERED is set), so the test
checks that every epoch still reaches the study.
"""

import argparse
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
sys.exit(0)
