"""pykt-toolkit's final-metric lines, beside its per-epoch line (:mod:`kttui.metricparse`).

pykt prints test metrics as ``testauc: 0.71, testacc: 0.69, window_testauc: ...``
(after each improving epoch in ``train_model``, and once in ``wandb_predict.py``)
and ends ``wandb_train.py`` with a tab-separated header and summary row
(``fold  modelname  embtype  testauc ... validauc  validacc  best_epoch``). Both
become final metrics. pykt writes ``-1`` for a metric it did not compute (the
test AUC when training had no test loader), so ``-1`` is dropped rather than
reported as a score.
"""

from __future__ import annotations

import re

from kttui.metricparse import _NUM

_TEST = re.compile(rf"\b((?:window_)?test(?:auc|acc))\s*:\s*({_NUM})\b")
#: the columns of pykt's summary row, in its order
SUMMARY = (
    "fold",
    "modelname",
    "embtype",
    "testauc",
    "testacc",
    "window_testauc",
    "window_testacc",
    "validauc",
    "validacc",
    "best_epoch",
)
#: columns of the summary row that are labels, not metrics
_LABELS = {"fold", "modelname", "embtype"}
NOT_COMPUTED = -1.0
#: pykt's per-epoch values that are the best so far, not the epoch's own: train_model
#: only updates them when an epoch improves on the best validation AUC
BEST_SO_FAR = ("validauc", "validacc")
#: the test metrics pykt prints (objectives that need an evaluation step)
PYKT_TEST = ("testauc", "testacc", "window_testauc", "window_testacc")


def _keep(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if value == NOT_COMPUTED else value


class PyktFinals:
    """Stateless (one parser serves every trial of a sweep, their lines interleave):
    the summary row is recognised by pykt's fixed column order, not by its header."""

    def parse(self, line: str) -> dict[str, float] | None:
        if "\t" in line:
            cells = [c.strip() for c in line.strip().split("\t")]
            if len(cells) != len(SUMMARY) or "modelname" in cells:
                return None
            row = {k: _keep(v) for k, v in zip(SUMMARY, cells, strict=True) if k not in _LABELS}
            if None in (_keep(cells[0]), row["validauc"], row["best_epoch"]):
                return None  # not pykt's row: its fold, validauc and best epoch are numbers
            return {k: v for k, v in row.items() if v is not None}
        values = {}
        for key, text in _TEST.findall(line):
            value = _keep(text)
            if value is not None:
                values[key] = value
        return values or None


def curve_label(metric: str, fmt: str) -> str:
    """How a per-epoch curve of ``metric`` is titled: pykt's are best-so-far curves."""
    return f"{metric} (best so far)" if fmt == "pykt" and metric in BEST_SO_FAR else metric
