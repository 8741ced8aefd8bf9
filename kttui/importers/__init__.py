"""Importers: other people's results as read-only kttui sessions.

Each importer reads its source completely and checks it first; only then is
the session written, into a hidden directory renamed into place at the end, so
a bad file never leaves half an import behind. The hidden directory is removed
on any exit Python sees (an error, Ctrl-C, SIGTERM); one left by a process
killed outright (SIGKILL, a power cut) carries its pid in its name and is swept
by the next import once that process is gone. The trials' statuses are lines
of ``trials.jsonl`` (read through :class:`kttui.session.Session` like the
runner's ``trials/<n>/status.json``), curves are ``trials/<n>/metrics.jsonl``,
so the TUI and reports treat it the same; ``session.json`` says ``kind: imported``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kttui.atomicfile import write_json_atomic
from kttui.session import PACKED_TRIALS, Session, now_iso


class ImportError_(ValueError):
    """Bad input: the message names the file (and row/column where there is one)."""


@dataclass(slots=True)
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
    """CSV cells as the values a person means: ints, floats, booleans, text; '' is None.

    ``float`` first: most cells of a results table are numbers, and a failed
    ``int()`` of each float cell cost a third of a 300 000-row import.
    """
    t = text.strip()
    if t == "":
        return None
    try:
        number = float(t)
    except ValueError:
        low = t.lower()
        return low == "true" if low in ("true", "false") else t
    digits = t[1:] if t[0] in "+-" else t
    if digits.isdigit() and digits.isascii():  # beyond 2**53 an int is a float in disguise
        whole = int(t)
        return whole if abs(whole) <= 2**53 else number
    return number


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Hundreds of thousands of fresh rows, none cyclic: the cycle collector's passes
    over them cost more than the reading itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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
    with _sigterm_raises(), no_gc():
        return _write(store, imp)


def _write(store: Path, imp: Imported) -> Session:
    # Named first, created inside the ``try``: a signal landing just after mkdtemp's
    # mkdir (before it returned) left the folder behind. The pid in the name makes it
    # ours (sweep_stale removes those of dead pids), so removing it on any exit is safe.
    tmp = store / f".import-{os.getpid()}-{secrets.token_hex(6)}"
    try:
        tmp.mkdir(mode=0o700)
        _write_trials(tmp, imp.trials)
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


def _write_trials(tmp: Path, trials: Sequence[ImportedTrial]) -> None:
    """All statuses in one ``trials.jsonl``; a folder only for a trial with a curve.

    A folder of three files per trial cost 20-260 s for 300 000 CSV rows (900 000
    files); one line per trial writes them in about a second. Plain writes: the
    folder stays private until the rename.
    """
    (tmp / "trials").mkdir(mode=0o700)
    encode = json.JSONEncoder(default=str).encode
    with open(tmp / PACKED_TRIALS, "w", encoding="utf-8") as fh:
        lines: list[str] = []
        for t in trials:
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
            lines.append(encode(status))
            if len(lines) >= 10_000:
                fh.write("\n".join(lines) + "\n")
                lines.clear()
            if t.curve:
                tdir = tmp / "trials" / str(t.number)
                tdir.mkdir(mode=0o700)
                with open(tdir / "metrics.jsonl", "w", encoding="utf-8") as curve:
                    curve.write("".join(encode(r) + "\n" for r in t.curve))
        if lines:
            fh.write("\n".join(lines) + "\n")


def is_row_index(name: str, values: Sequence[Any]) -> bool:
    """A rank or row-number column (1..N or 0..N-1) describes the table, not the sweep."""
    if name.strip().lower() in ("rank", "index", "#", "row", "id", "idx"):
        return True
    n = len(values)
    if n <= 2 or not all(type(v) is int for v in values):
        return False
    return sorted(values) in (list(range(1, n + 1)), list(range(n)))


def _same(value: Any) -> Any:
    """A key equal for equal values only (True is not 1, 1 is not 1.0 as JSON tells them)."""
    if isinstance(value, bool | int | float | str):
        return (type(value), value)
    return json.dumps(value, sort_keys=True, default=str)


def split_columns(
    columns: dict[str, list[Any]],
    exclude: set[str],
    *,
    constants_as_params: bool = False,
) -> tuple[list[str], list[str], dict[str, Any]]:
    """(params, metrics, fixed) of named columns: metric-like names are metrics,
    varying others are params.

    With ``constants_as_params`` a column with one value is a param that was
    never varied (which the analysis then reports, as seed 000's learning rate).
    """
    params, metrics, fixed = [], [], {}
    for name, column in columns.items():
        if name in exclude:
            continue
        if METRIC_NAME.search(name):
            metrics.append(name)
            continue
        values = [v for v in column if v is not None]
        if is_row_index(name, values):
            continue
        if values and constants_as_params:
            params.append(name)
        elif values:
            first = _same(values[0])
            if any(_same(v) != first for v in values):
                params.append(name)
            else:
                fixed[name] = values[0]
    return params, metrics, fixed


METRIC_NAME = re.compile(
    r"(auc|acc|loss|score|f1|mse|mae|rmse|ndcg|recall|precision|perplexity|time|duration|"
    r"elapsed|seconds|epoch|^step$|^test_|^val_|^valid|^train_|^best_)",
    re.IGNORECASE,
)
