"""Spec text for the editor (template, validation, saving) and what the dashboard reads from
a session's frozen spec (its params, log axes, backend, curve names).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kttui import pyktlines
from kttui.atomicfile import write_text_atomic
from kttui.service import ServiceError
from kttui.session import Session

SPEC_TEMPLATE = """\
# A kttui sweep spec (`kttui validate` checks it; the README lists every key).
# It runs as it stands (ctrl+l): kttui's embedded knowledge-tracing trainer on
# synthetic students (needs `pip install 'kttui[kt]'`). Put your own training
# program in `command`; it reads its params as `--name value` (pass_params: flags).
name: my-sweep
objective: {metric: val_auc, direction: maximize, summary: best}
command: ["{python}", -m, kttui.kt.train, --data, synthetic, --n_students, "400",
          --seq_len, "50", --data_seed, "0", --data-cache, "{session_dir}/../.cache/kt",
          --out, "{trial_dir}"]
pass_params: flags
space:
  model: {type: categorical, choices: [dkt, sakt]}
  learning_rate: {type: float, low: 1.0e-4, high: 3.0e-2, log: true}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.1}
fixed: {epochs: 4, patience: 2, batch_size: 64, d_model: 32, d_ff: 64, n_heads: 4, seed: 0}
strategy: {sampler: tpe, n_trials: 12, seed: 0}
pruner: {type: median, min_epochs: 2}
resources: {backend: local, gpus: auto, cpu_slots: auto, timeout_min: 10}
"""


@dataclass(frozen=True)
class Issue:
    """A problem in spec text, at a 1-based line (0: unknown)."""

    line: int
    path: str
    message: str
    column: int = 0  # 1-based column of the offending key (0: unknown)

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path + ': ' if self.path else ''}{self.message}"


#: The last spec read, by path and (mtime, size): the dashboard asks four questions of it.
_LAST_SPEC: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def _spec_data(session: Session) -> dict[str, Any]:
    """A session's frozen spec as plain data ({} when unreadable), parsed once while unchanged."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = session.spec_path
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    known = _LAST_SPEC.get(path)
    if known is not None and known[0] == stamp:
        return copy.deepcopy(known[1])
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return {}
    data = data if isinstance(data, dict) else {}
    _LAST_SPEC.clear()  # one session's spec at a time
    _LAST_SPEC[path] = (stamp, data)
    return copy.deepcopy(data)


def _spec_space(session: Session) -> dict[str, Any]:
    space = _spec_data(session).get("space")
    return {str(k): v for k, v in space.items()} if isinstance(space, dict) else {}


def session_backend(session: Session) -> str:
    """The backend a session's trials run on (``local``, ``slurm``, ...)."""
    resources = _spec_data(session).get("resources")
    backend = resources.get("backend") if isinstance(resources, dict) else None
    return str(backend or "local")


def space_params(session: Session) -> list[str]:
    """The names of the params a session varies (its spec's ``space``), in spec order."""
    return list(_spec_space(session))


def log_params(session: Session) -> frozenset[str]:
    """The params declared ``log: true`` (the slice chart puts them on a log axis)."""
    return frozenset(
        name
        for name, entry in _spec_space(session).items()
        if isinstance(entry, dict) and entry.get("log") is True
    )


def curve_label(session: Session, metric: str) -> str:
    """The name per-epoch curves of ``metric`` get (pykt's validauc is a best-so-far value)."""
    metrics = _spec_data(session).get("metrics")
    fmt = metrics.get("format") if isinstance(metrics, dict) else None
    return pyktlines.curve_label(metric, str(fmt or "jsonl"))


def validate_spec_text(text: str, filename: str = "<spec>") -> list[Issue]:
    """Every problem of a spec text (empty when it is valid)."""
    from kttui.specload import SpecError, load_spec_text

    try:
        load_spec_text(text, filename)
    except SpecError as exc:
        return [Issue(i.line, i.path, i.message, i.column) for i in exc.issues]
    return []


def read_spec_for_edit(path: Path) -> str:
    """The text of a spec file, or the template when the file does not exist yet."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SPEC_TEMPLATE
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceError(f"cannot read {path}: {exc}") from None


def save_spec(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    except OSError as exc:
        raise ServiceError(f"cannot save {path}: {exc.strerror}") from None


def session_spec_source(session: Session) -> tuple[Path | None, str]:
    """Where a session's spec came from (if that file still exists) and its launched text."""
    try:
        text = session.spec_path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    source = session.info().get("source")
    if isinstance(source, str) and source and Path(source).is_file():
        return Path(source), text
    return None, text
