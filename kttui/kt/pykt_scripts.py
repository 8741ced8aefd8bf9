"""Launchers for a pip-installed pykt-toolkit, whose wheel has no ``examples/``.

A clone of pykt-toolkit has ``examples/wandb_<model>_train.py`` and
``wandb_predict.py``; the wheel on PyPI has only the ``pykt`` package. These
launchers take the same flags as the clone's scripts and call the installed
package's own functions (``init_dataset4train``, ``init_model``,
``train_model``, ``init_test_datasets``, ``load_model``, ``evaluate``), so what
trains and prints the epoch lines is pykt's code, not kttui's. They are written
as text (they run in pykt's environment, which need not have kttui) and never
over a file that exists.
"""

from __future__ import annotations

#: per-model flags of pykt's scripts: (name, type, default)
MODEL_FLAGS: dict[str, list[tuple[str, str, str]]] = {
    "dkt": [("emb_size", "int", "200"), ("dropout", "float", "0.2")],
    "sakt": [
        ("emb_size", "int", "256"),
        ("num_attn_heads", "int", "8"),
        ("num_en", "int", "1"),
        ("dropout", "float", "0.2"),
    ],
    "akt": [
        ("d_model", "int", "256"),
        ("d_ff", "int", "512"),
        ("num_attn_heads", "int", "8"),
        ("n_blocks", "int", "4"),
        ("dropout", "float", "0.2"),
    ],
}

_COMMON = """import argparse, json, os

import torch

if not torch.cuda.is_available():
    # pykt-toolkit 0.0.38 (PyPI's newest) builds its data with torch.cuda's tensor
    # types even without a GPU; its later sources pick torch's CPU types then.
    torch.cuda.FloatTensor, torch.cuda.LongTensor = torch.FloatTensor, torch.LongTensor
from pykt.utils import set_seed

p = argparse.ArgumentParser()
"""

_TRAIN = (
    '''"""Written by `kttui kt export-pykt --scripts`: trains MODEL with the installed
pykt package's own functions; same flags as pykt-toolkit's examples/ script."""
'''
    + _COMMON
    + """HEAD = [("dataset_name", str, "kttui_synthetic"), ("model_name", str, MODEL),
        ("emb_type", str, "qid"), ("save_dir", str, "saved_model"), ("seed", int, 42),
        ("fold", int, 0), ("learning_rate", float, 1e-3)]
TAIL = [("use_wandb", int, 1), ("add_uuid", int, 1)]  # last, as in pykt's own scripts
for name, kind, default in HEAD + FLAGS + TAIL:
    p.add_argument("--" + name, type=kind, default=default)
params = vars(p.parse_args())
if params["use_wandb"] == 1:
    raise SystemExit("this launcher has no wandb support: pass --use_wandb 0")
from pykt.datasets import init_dataset4train
from pykt.models import init_model, train_model

set_seed(params["seed"])
with open("../configs/kt_config.json") as fh:
    train_config = json.load(fh)["train_config"]
with open("../configs/data_config.json") as fh:
    data_config = json.load(fh)
name, model_name = params["dataset_name"], params["model_name"]
train_config["seq_len"] = data_config[name].get("maxlen", train_config["seq_len"])
train, valid, *_ = init_dataset4train(name, model_name, data_config, params["fold"],
                                      train_config["batch_size"])
model_config = {k: params[k] for k, _, _ in FLAGS}
if model_name in ("sakt", "saint"):
    model_config["seq_len"] = train_config["seq_len"]
ckpt = os.path.join(params["save_dir"], "_".join(str(v) for v in params.values()))
os.makedirs(ckpt, exist_ok=True)
with open(os.path.join(ckpt, "config.json"), "w") as fh:
    json.dump({"train_config": train_config, "model_config": model_config,
               "data_config": data_config[name], "params": params}, fh)
print(f"Start training model: {model_name}, embtype: {params['emb_type']}, save_dir: {ckpt}")
model = init_model(model_name, model_config, data_config[name], params["emb_type"])
opt = torch.optim.Adam(model.parameters(), params["learning_rate"])
out = train_model(model, train, valid, train_config["num_epochs"], opt, ckpt, None, None, True)
testauc, testacc, wauc, wacc, validauc, validacc, best_epoch = out
print("fold\\tmodelname\\tembtype\\ttestauc\\ttestacc\\twindow_testauc\\twindow_testacc"
      "\\tvalidauc\\tvalidacc\\tbest_epoch")
print("\\t".join(str(v) for v in (params["fold"], model_name, params["emb_type"], testauc,
                                   testacc, wauc, wacc, validauc, validacc, best_epoch)))
"""
)

_PREDICT = (
    '''"""Written by `kttui kt export-pykt --scripts`: evaluates a trained save dir on
the test files with the installed pykt package's own functions."""
'''
    + _COMMON
    + """p.add_argument("--save_dir", required=True)
p.add_argument("--bz", type=int, default=256)
p.add_argument("--use_wandb", type=int, default=1)
params = vars(p.parse_args())
from pykt.datasets import init_test_datasets
from pykt.models import evaluate, load_model

with open(os.path.join(params["save_dir"], "config.json")) as fh:
    saved = json.load(fh)
trained = saved["params"]
model_name, emb_type = trained["model_name"], trained["emb_type"]
with open("../configs/data_config.json") as fh:
    data_config = json.load(fh)[trained["dataset_name"]]
test, window, *_ = init_test_datasets(data_config, model_name, params["bz"])
model = load_model(model_name, saved["model_config"], data_config, emb_type, params["save_dir"])
testauc, testacc = evaluate(model, test, model_name)
wauc, wacc = evaluate(model, window, model_name)
print(f"testauc: {testauc}, testacc: {testacc}, window_testauc: {wauc}, window_testacc: {wacc}")
"""
)


def launcher_files() -> dict[str, str]:
    """File name -> text: one training launcher per model, and the predictor."""
    files = {}
    for model, flags in MODEL_FLAGS.items():
        listed = ", ".join(f'("{n}", {t}, {d})' for n, t, d in flags)
        head = f'MODEL = "{model}"\nFLAGS = [{listed}]\n'
        body = _TRAIN.replace("import argparse", head + "import argparse", 1)
        files[f"wandb_{model}_train.py"] = body
    files["wandb_predict.py"] = _PREDICT
    return files
