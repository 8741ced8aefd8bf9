"""The torch side of a trial: batching, the training loop, early stopping, scoring.

Kept out of :mod:`kttui.kt.train` so the CLI can reject bad parameters and bad
data before paying about 1.5 s for ``import torch``; a sweep may produce many
invalid combinations (e.g. ``d_model % n_heads != 0``) and each should fail fast.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from kttui import trial
from kttui.atomicfile import replacing
from kttui.kt.data import KTDataset
from kttui.kt.metrics import accuracy, auc
from kttui.kt.models import ModelParams, build_model, count_params
from kttui.kt.optim import Adam
from kttui.kt.params import TrainConfig
from kttui.kt.splits import Split

CHECKPOINT = "model_best.pt"
#: Written after every epoch: what a promoted trial continues from at a larger budget.
LAST = "last.pt"
RESUME_ENV = "KTTUI_RESUME_FROM"
#: rows are sorted by length within pools of this many batches (see Tensors.batches)
POOL_BATCHES = 8


@dataclass(frozen=True)
class Tensors:
    """A dataset as index tensors (padding mapped to id 0; the target mask hides it)."""

    questions: Tensor
    skills: Tensor
    responses: Tensor
    lengths: Tensor

    @classmethod
    def of(cls, ds: KTDataset) -> Tensors:
        def t(a: np.ndarray) -> Tensor:
            return torch.from_numpy(np.clip(a, 0, None).astype(np.int64))

        return cls(t(ds.questions), t(ds.skills), t(ds.responses), torch.from_numpy(ds.lengths))

    def __len__(self) -> int:
        return int(self.questions.shape[0])

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[tuple[Tensor, Tensor, Tensor, Tensor]]:
        """Yield (questions, skills, responses, target mask); target is ``(B, width-1)``.

        Each batch is cut to its longest row. With a ``generator`` the order is
        random, but rows of similar length are batched together within pools of
        ``POOL_BATCHES`` batches: that removes most padding (about a quarter of
        the compute on the demo data) while batches stay well mixed.
        """
        n = len(self)
        groups: list[Tensor]
        if generator is None:
            groups = [torch.arange(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]
        else:
            order = torch.randperm(n, generator=generator)
            pool = batch_size * POOL_BATCHES
            groups = []
            for a in range(0, n, pool):
                chunk = order[a : a + pool]
                chunk = chunk[torch.argsort(self.lengths[chunk], stable=True)]
                groups.extend(chunk.split(batch_size))
            shuffle = torch.randperm(len(groups), generator=generator).tolist()
            groups = [groups[i] for i in shuffle]
        for idx in groups:
            lengths = self.lengths[idx]
            width = max(2, int(lengths.max()))
            target = torch.arange(1, width)[None, :] < lengths[:, None]
            yield (
                self.questions[idx, :width],
                self.skills[idx, :width],
                self.responses[idx, :width],
                target,
            )


def train_epoch(
    model: nn.Module, data: Tensors, optimizer: Adam, batch_size: int, generator: torch.Generator
) -> float:
    """One pass over ``data``; returns the mean BCE per scored interaction."""
    model.train()
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    total, count = 0.0, 0
    for q, s, r, target in data.batches(batch_size, generator):
        n = int(target.sum())
        if n == 0:
            continue
        loss = loss_fn(model(q, s, r)[target], r[:, 1:][target].float())
        optimizer.zero_grad()
        (loss / n).backward()
        optimizer.step()
        total += float(loss.detach())
        count += n
    return total / max(count, 1)


@torch.no_grad()
def predict(
    model: nn.Module, data: Tensors, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) at every scored interaction, in a fixed order."""
    model.eval()
    labels, probs = [], []
    for q, s, r, target in data.batches(batch_size):
        p = torch.sigmoid(model(q, s, r))
        labels.append(r[:, 1:][target].numpy())
        probs.append(p[target].numpy())
    return np.concatenate(labels), np.concatenate(probs)


def evaluate(model: nn.Module, data: Tensors) -> tuple[float, float]:
    """(AUC, accuracy) of ``model`` on ``data``."""
    y, p = predict(model, data)
    return auc(y, p), accuracy(y, p)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """A resumed or evaluated run must never load half a checkpoint: replace it whole."""
    with replacing(path, binary=True) as fh:
        torch.save(state, fh)


def emit(record: dict[str, Any]) -> None:
    """Echo a metric line to stdout (the trial's log) when it went to the metrics
    file; without ``$KTTUI_METRICS`` :mod:`kttui.trial` already printed it."""
    if os.environ.get(trial.METRICS_ENV):
        print(json.dumps(record, allow_nan=True), flush=True)


def _resumable(cfg: TrainConfig) -> dict[str, Any]:
    """What must match for a checkpoint to be continued (everything but the budget)."""
    return {k: v for k, v in cfg.as_dict().items() if k not in ("epochs", "out", "patience")}


def resume(
    source: str | None, cfg: TrainConfig, model: Any, optimizer: Adam, best_path: Path
) -> tuple[float, int, int, int] | None:
    """Load ``last.pt`` of an earlier trial with the same config; None to start afresh."""
    if not source:
        return None
    path = Path(source) / LAST
    try:
        state = torch.load(path, weights_only=True)
    except (OSError, RuntimeError) as exc:
        print(f"kttui.kt.train: not resuming: cannot read {path}: {exc}", file=sys.stderr)
        return None
    if state.get("config") != _resumable(cfg):
        print(f"kttui.kt.train: not resuming: {path} has another config", file=sys.stderr)
        return None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    best = Path(source) / CHECKPOINT
    if best.is_file() and best.resolve() != best_path.resolve():
        shutil.copyfile(best, best_path)
    best_auc, best_epoch, stale = state["best"]
    return float(best_auc), int(best_epoch), int(stale), int(state["epoch"])


def fit(cfg: TrainConfig, split: Split, out_dir: Path) -> dict[str, Any]:
    """Train with early stopping on val AUC, reporting every epoch; then score the
    best checkpoint on test. Returns the final results (see ``eval_results.json``)."""
    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    n_questions = max(split.train.n_questions, split.val.n_questions, split.test.n_questions)
    n_skills = max(split.train.n_skills, split.val.n_skills, split.test.n_skills)
    hp = ModelParams(cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.d_ff, cfg.dropout)
    model = build_model(cfg.model, n_questions, n_skills, cfg.seq_len, hp)
    n_params = count_params(model)
    print(f"model {cfg.model}: {n_params} parameters", flush=True)
    optimizer = Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    train, val, test = Tensors.of(split.train), Tensors.of(split.val), Tensors.of(split.test)
    checkpoint = out_dir / CHECKPOINT

    best_auc, best_epoch, stale, epoch = -math.inf, 0, 0, 0
    start = 1
    resumed = resume(os.environ.get(RESUME_ENV), cfg, model, optimizer, checkpoint)
    if resumed is not None:
        best_auc, best_epoch, stale, epoch = resumed
        start = epoch + 1
        print(f"resumed at epoch {epoch} from {os.environ[RESUME_ENV]}", flush=True)
    for epoch in range(start, cfg.epochs + 1):
        loss = train_epoch(model, train, optimizer, cfg.batch_size, generator)
        val_auc, val_acc = evaluate(model, val)
        metrics: dict[str, Any] = {
            "train_loss": loss,
            "val_auc": val_auc,
            "val_acc": val_acc,
            "elapsed_s": round(time.perf_counter() - t0, 3),
        }
        trial.report(epoch=epoch, **metrics)
        emit({"epoch": epoch, **metrics})
        if not math.isfinite(loss) or math.isnan(val_auc):
            print(f"kttui.kt.train: training diverged at epoch {epoch}", file=sys.stderr)
            break
        if val_auc > best_auc:
            best_auc, best_epoch, stale = val_auc, epoch, 0
            state = {
                "model": model.state_dict(),
                "config": cfg.as_dict(),
                "n_questions": n_questions,
                "n_skills": n_skills,
                "epoch": epoch,
                "val_auc": val_auc,
            }
            save_checkpoint(checkpoint, state)
        else:
            stale += 1
        last = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "config": _resumable(cfg),
            "epoch": epoch,
            "best": [best_auc, best_epoch, stale],
        }
        save_checkpoint(out_dir / LAST, last)
        if stale and cfg.patience and stale >= cfg.patience:
            break

    if best_epoch:
        model.load_state_dict(torch.load(checkpoint, weights_only=True)["model"])
        test_auc, test_acc = evaluate(model, test)
    else:  # diverged in the first epoch: there is no model worth scoring
        test_auc = test_acc = math.nan
    results: dict[str, Any] = {
        "model": cfg.model,
        "test_auc": test_auc,
        "test_acc": test_acc,
        "best_epoch": best_epoch,
        "best_val_auc": best_auc if best_epoch else math.nan,
        "epochs_run": epoch,
        "n_params": n_params,
        "baseline_auc": split.baseline_auc,
    }
    if split.oracle_auc is not None:
        results["oracle_auc"] = split.oracle_auc
    results["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return results
