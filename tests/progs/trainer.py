"""A configurable fake training program for the runner tests (stdlib only).

Params come from $KTTUI_PARAMS. Besides writing epochs it can fail, kill
itself, spawn a grandchild (optionally in a new session), print pykt or regex
lines, and record what it saw (argv, CUDA_VISIBLE_DEVICES, times) to a file.
"""

import json
import os
import signal
import subprocess
import sys
import time

params = {}
if os.environ.get("KTTUI_PARAMS"):
    with open(os.environ["KTTUI_PARAMS"]) as fh:
        params = json.load(fh)
epochs = int(params.get("epochs", 5))
epoch_s = float(params.get("epoch_s", 0.02))
x = float(params.get("x", 0.5))
fail_at = int(params.get("fail_at", 0))
signal_at = int(params.get("signal_at", 0))
record = params.get("record")
mode = params.get("mode", "jsonl")
start = time.time()

if params.get("grandchild"):
    cmd = [sys.executable, "-c", "import time; time.sleep(600)"]
    child = subprocess.Popen(cmd, start_new_session=params.get("grandchild") == "setsid")
    with open(os.path.join(os.environ["KTTUI_TRIAL_DIR"], "grandchild.pid"), "w") as fh:
        fh.write(str(child.pid))

for epoch in range(1, epochs + 1):
    time.sleep(epoch_s)
    if fail_at and epoch == fail_at:
        print("something went wrong at epoch", epoch, file=sys.stderr)
        sys.exit(int(params.get("exit_code", 1)))
    if signal_at and epoch == signal_at:
        os.kill(os.getpid(), signal.SIGKILL)
    value = x * (1 - 0.5**epoch)
    if mode == "jsonl":
        with open(os.environ["KTTUI_METRICS"], "a") as fh:
            fh.write(json.dumps({"epoch": epoch, "score": value, "loss": 1 - value}) + "\n")
    elif mode == "pykt":
        print(
            f"Epoch: {epoch}, validauc: {value:.4f}, validacc: {value - 0.01:.4f}, "
            f"best epoch: {epoch}, best auc: {value:.4f}, train loss: {1 - value:.4f}, "
            f"emb_type: qid, model: akt, save_dir: saved/x",
            flush=params.get("flush", True),
        )
    elif mode == "regex":
        print(f"epoch={epoch} val_loss={1 - value:.4f}")

if record:
    with open(record, "a") as fh:
        fh.write(
            json.dumps(
                {
                    "trial": int(os.environ["KTTUI_TRIAL_NUMBER"]),
                    "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
                    "slot": os.environ.get("KTTUI_SLOT"),
                    "start": start,
                    "end": time.time(),
                    "argv": sys.argv[1:],
                    "env": {k: v for k, v in os.environ.items() if k.startswith("KTTUI_")},
                }
            )
            + "\n"
        )
