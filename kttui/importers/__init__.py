"""Importers: other people's results as read-only kttui sessions.

Each importer reads its source completely and checks it first; only then is
the session written, into a hidden directory renamed into place at the end, so
a bad file never leaves half an import behind. The hidden directory is removed
on any exit Python sees (an error, Ctrl-C, SIGTERM); one left by a process
killed outright (SIGKILL, a power cut) carries its pid in its name and is swept
by the next import once that process is gone. The session looks like any
other (``trials/<n>/status.json``, ``metrics.jsonl``) so the TUI and reports
treat it the same; ``session.json`` says ``kind: imported``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kttui.atomicfile import write_json_atomic
from kttui.session import Session, now_iso


class ImportError_(ValueError):
    """Bad input: the message names the file (and row/column where there is one)."""


@dataclass
class ImportedTrial:
    number: int
    state: str  # complete | pruned | fail | running | incomplete
    params: dict[str, Any]
    value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)
    duration_s: float | None = None
    label: str | None = None


@dataclass
class Imported:
    name: str
    source: str
    metric: str
    direction: str
    params: list[str]
    trials: list[ImportedTrial]
    fixed: dict[str, Any] = field(default_factory=dict)
    space: dict[str, dict[str, Any]] = field(default_factory=dict)
    baseline: float | None = None
    baseline_params: dict[str, Any] | None = None


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "import"


def parse_scalar(text: str) -> Any:
    """CSV cells as the values a person means: ints, floats, booleans, text; '' is None."""
    t = text.strip()
    if t == "":
        return None
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        number = int(t)
    except ValueError:
        pass
    else:  # beyond 2**53 an int is a float in disguise, and float() of it may overflow
        return number if abs(number) <= 2**53 else float(t)
    try:
        return float(t)
    except ValueError:
        return t


def is_nonfinite(value: Any) -> bool:
    """NaN or infinity: never a param value (it would match nothing, sort nowhere)."""
    return isinstance(value, float) and not math.isfinite(value)


def sweep_stale(store: Path) -> None:
    """Remove ``.import-<pid>-*`` folders whose process no longer exists."""
    with contextlib.suppress(OSError):
        for entry in store.glob(".import-*"):
            match = re.match(r"\.import-(\d+)-", entry.name)
            if match is None or not entry.is_dir() or _alive(int(match.group(1))):
                continue
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While importing, SIGTERM unwinds like Ctrl-C, so the temp folder is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def write_session(store: Path, imp: Imported) -> Session:
    """Write ``imp`` as a new session in ``store``, all or nothing."""
    store.mkdir(parents=True, exist_ok=True)
    sweep_stale(store)
    with _sigterm_raises():
        return _write(store, imp)


def _write(store: Path, imp: Imported) -> Session:
    tmp = Path(tempfile.mkdtemp(prefix=f".import-{os.getpid()}-", dir=store))
    try:
        os.chmod(tmp, 0o700)
        (tmp / "trials").mkdir(mode=0o700)
        for t in imp.trials:  # plain writes: the folder is private until the rename
            tdir = tmp / "trials" / str(t.number)
            tdir.mkdir(mode=0o700)
            _write_text(tdir / "params.json", json.dumps(t.params, indent=1, default=str) + "\n")
            if t.curve:
                _write_text(tdir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in t.curve))
            status: dict[str, Any] = {
                "number": t.number,
                "state": "queued" if t.state == "incomplete" else t.state,
                "params": t.params,
                "final": t.metrics or None,
                "epochs": len(t.curve) or None,
                "duration_s": t.duration_s,
                "label": t.label,
            }
            if t.value is not None:
                status["value"] = t.value
            _write_text(tdir / "status.json", json.dumps(status, indent=1, default=str) + "\n")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        info = {
            "id": "",
            "name": imp.name,
            "created": now_iso(),
            "kind": "imported",
            "source": imp.source,
            "objective": {"metric": imp.metric, "direction": imp.direction},
            "params": imp.params,
            "fixed": imp.fixed,
            "space": imp.space or None,
            "baseline": {"value": imp.baseline, "params": imp.baseline_params}
            if imp.baseline is not None or imp.baseline_params
            else None,
        }
        base = f"{slug(imp.name)}-{stamp}"
        for i in range(1000):
            final = store / (base if i == 0 else f"{base}-{i}")
            if final.exists():
                continue
            info["id"] = final.name
            write_json_atomic(tmp / "session.json", info)
            os.rename(tmp, final)
            return Session(final.resolve())
        raise ImportError_(f"too many sessions named {base}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def is_row_index(name: str, values: Sequence[Any]) -> bool:
    """A rank or row-number column (1..N or 0..N-1) describes the table, not the sweep."""
    if name.strip().lower() in ("rank", "index", "#", "row", "id", "idx"):
        return True
    ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    n = len(values)
    return n > 2 and len(ints) == n and sorted(ints) in (list(range(1, n + 1)), list(range(n)))


def split_columns(
    names: Sequence[str],
    rows: Sequence[dict[str, Any]],
    exclude: set[str],
    *,
    constants_as_params: bool = False,
) -> tuple[list[str], list[str], dict[str, Any]]:
    """(params, metrics, fixed): metric-like names are metrics, varying others are params.

    With ``constants_as_params`` a column with one value is a param that was
    never varied (which the analysis then reports, as seed 000's learning rate).
    """
    params, metrics, fixed = [], [], {}
    for name in names:
        if name in exclude:
            continue
        values = [r.get(name) for r in rows if r.get(name) is not None]
        if METRIC_NAME.search(name):
            metrics.append(name)
        elif is_row_index(name, values):
            continue
        elif (values and constants_as_params) or len(
            {json.dumps(v, sort_keys=True, default=str) for v in values}
        ) > 1:
            params.append(name)
        elif values:
            fixed[name] = values[0]
    return params, metrics, fixed


METRIC_NAME = re.compile(
    r"(auc|acc|loss|score|f1|mse|mae|rmse|ndcg|recall|precision|perplexity|time|duration|"
    r"elapsed|seconds|epoch|^step$|^test_|^val_|^valid|^train_|^best_)",
    re.IGNORECASE,
)
