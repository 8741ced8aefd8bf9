"""The session service: everything the console (and the CLI) need to know or do.

A thin layer over the session store (:mod:`kttui.session`), the control socket
(:mod:`kttui.control`) and the daemon (:mod:`kttui.daemon`). It reads the
session directory incrementally (files are tailed by offset, status files are
re-read only when they changed), never opens the Optuna database and never
imports a UI toolkit: the TUI only draws what these functions return.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kttui import pyktlines
from kttui.heartbeat import describe, silent_for
from kttui.metricparse import EpochLog, LineParser
from kttui.safetext import format_value, md_code, md_escape, sanitize
from kttui.session import ACTIVE_STATES, Session, SessionError, list_sessions, read_json
from kttui.tail import FileTail, last_lines

if TYPE_CHECKING:
    from kttui.specload import LoadedSpec

#: Trial states a watcher keeps checking (the others are final).
LIVE_STATES = ("running", "queued")
#: A full rescan of the trial directory at least this often (seconds).
RESCAN_S = 5.0
#: How much of a log file the log pane reads when it opens a trial.
LOG_BACKLOG_BYTES = 64 * 1024


class ServiceError(Exception):
    """An operation the user asked for cannot be done; the message says why."""


# --------------------------------------------------------------------- text
# sanitize and format_value live in kttui.safetext (one copy for console, report, CSV)


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


# --------------------------------------------------------------------- trials
@dataclass(frozen=True, slots=True)
class TrialRow:
    """One trial as the console shows it (from status.json and the metric tail)."""

    number: int
    state: str
    params: tuple[tuple[str, Any], ...] = ()
    epoch: int | None = None
    current: float | None = None
    best: float | None = None
    value: float | None = None
    duration_s: float | None = None
    started_ts: float | None = None
    slot: str | None = None
    gpus: tuple[int, ...] = ()
    reason: str | None = None
    #: the scheduler's view, when a scheduler runs the trial (status.json may omit them)
    job_id: str | None = None
    node: str | None = None
    gres: str | None = None

    def param(self, name: str) -> Any:
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def elapsed(self, now: float | None = None) -> float | None:
        """Seconds the trial ran (so far, when it is running)."""
        if self.duration_s is not None:
            return self.duration_s
        if self.state == "running" and self.started_ts is not None:
            return (now if now is not None else time.time()) - self.started_ts
        return None


def _parse_started(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def trial_row(status: dict[str, Any], log: EpochLog | None = None) -> TrialRow:
    """A :class:`TrialRow` from a status.json record (and what the metric tail saw)."""
    params = status.get("params") or {}
    epoch = status.get("epoch")
    current, best = _num(status.get("current")), _num(status.get("best"))
    if log is not None and log.last_epoch and log.last_epoch >= int(epoch or 0):
        series = log.objective_series()
        epoch = log.last_epoch
        if series:
            current = series[-1][1]
            pick = max if log.direction == "maximize" else min
            best = pick(v for _, v in series)
    gpus = status.get("gpus") or ()
    return TrialRow(
        number=int(status["number"]),
        state=str(status.get("state") or "queued"),
        params=tuple(sorted(params.items())) if isinstance(params, dict) else (),
        epoch=int(epoch) if isinstance(epoch, int | float) and epoch else None,
        current=current,
        best=best,
        value=_num(status.get("value")),
        duration_s=_num(status.get("duration_s")),
        started_ts=_parse_started(status.get("started")),
        slot=status.get("slot"),
        gpus=tuple(int(g) for g in gpus if isinstance(g, int)),
        reason=status.get("reason") or None,
        job_id=_text(status.get("job_id")),
        node=_text(status.get("node")),
        gres=_text(status.get("gres")),
    )


def _text(value: Any) -> str | None:
    """A status field that should be short text (job id, node, GRES), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return sanitize(str(value))[:80] or None


@dataclass(frozen=True)
class RunnerView:
    """The runner as the console shows it."""

    state: str
    reason: str = ""
    alive: bool = False
    launched: int | None = None
    budget: int | None = None
    pid: int | None = None


@dataclass
class SessionDelta:
    """What changed in a session since the previous poll."""

    rows: list[TrialRow] = field(default_factory=list)
    points: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    runner: RunnerView | None = None
    initial: bool = False
    #: trials per state and the best completed trial, when rows changed
    counts: dict[str, int] | None = None
    best: TrialRow | None = None

    def __bool__(self) -> bool:
        return bool(self.rows or self.points or self.runner or self.initial)


class _Lines:
    """New complete lines of a growing file, read by offset (events.jsonl)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self, limit: int = 1 << 22) -> list[str]:
        try:
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self.offset:
                    self.offset, self.partial = 0, b""
                if size == self.offset:
                    return []
                fh.seek(self.offset)
                data = fh.read(min(limit, size - self.offset))
        except OSError:
            return []
        self.offset += len(data)
        parts = (self.partial + data).split(b"\n")
        self.partial = parts.pop()
        return [p.decode("utf-8", errors="replace") for p in parts]


class SessionWatcher:
    """Follows one session directory; :meth:`poll` returns only what changed.

    Status files are re-read when a trial is new, still live, or named by a new
    line of events.jsonl; the trial directory is rescanned when its mtime moves
    (and every few seconds). Live trials' metrics.jsonl files are tailed by
    offset, so a new epoch shows before the runner rewrites status.json.
    """

    def __init__(self, session: Session, *, follow_metrics: bool = True) -> None:
        self.session = session
        info = session.info()
        objective = info.get("objective") or {}
        self.info = info
        self.metric: str = str(objective.get("metric") or "value")
        self.direction: str = str(objective.get("direction") or "maximize")
        self.follow_metrics = follow_metrics
        self.rows: dict[int, TrialRow] = {}
        self.series: dict[int, list[tuple[int, float]]] = {}
        self.runner = RunnerView("created")
        self._stat: dict[int, tuple[int, int]] = {}
        self._known: set[int] = set()
        self._live: set[int] = set()
        self._dir_mtime: int | None = None
        self._rescan_at = 0.0
        self._events = _Lines(session.events_path)
        self._tails: dict[int, tuple[FileTail, EpochLog]] = {}
        self._parser = LineParser("jsonl")
        self._runner_sig: tuple[Any, ...] | None = None
        self._polled = False
        self._counts: Counter[str] = Counter()
        self._best: TrialRow | None = None

    @property
    def maximize(self) -> bool:
        return self.direction != "minimize"

    def close(self) -> None:
        for tail, _ in self._tails.values():
            tail.close()
        self._tails.clear()

    def _scan(self, now: float) -> set[int]:
        packed = self.session.packed_statuses()  # an import: never changes
        if packed:
            return set(packed) - self._known
        try:
            mtime = os.stat(self.session.trials_dir).st_mtime_ns
        except OSError:
            return set()
        if mtime == self._dir_mtime and now < self._rescan_at:
            return set()
        self._dir_mtime, self._rescan_at = mtime, now + RESCAN_S
        try:
            names = os.listdir(self.session.trials_dir)
        except OSError:
            return set()
        numbers = {int(n) for n in names if n.isdigit()}
        return numbers - self._known

    def _read_status(self, number: int) -> dict[str, Any] | None:
        packed = self.session.packed_statuses()
        if packed:
            if number in self._stat:
                return None
            self._stat[number] = (0, 0)
            return packed.get(number)
        path = self.session.trial_dir(number) / "status.json"
        try:
            st = os.stat(path)
        except OSError:
            return None
        sig = (st.st_mtime_ns, st.st_size)
        if self._stat.get(number) == sig:
            return None
        data = read_json(path)
        if not isinstance(data, dict) or "number" not in data:
            return None
        self._stat[number] = sig
        return data

    def _tail(self, number: int) -> tuple[list[tuple[int, float]], EpochLog | None]:
        entry = self._tails.get(number)
        if entry is None:
            tail = FileTail(self.session.trial_dir(number) / "metrics.jsonl")
            entry = (tail, EpochLog(self.metric, self.direction))
            self._tails[number] = entry
        tail, log = entry
        new: list[tuple[int, float]] = []
        for line in tail.read_lines():
            record = log.feed(self._parser.parse(line))
            if record is None:
                continue
            value = record[1].get(self.metric)
            if value is not None and math.isfinite(value):
                new.append((record[0], value))
        if new:
            self.series.setdefault(number, []).extend(new)
        return new, log

    def _runner_view(self) -> RunnerView:
        runner = self.session.runner() or {}
        state = self.session.state()
        alive = state in ACTIVE_STATES
        silent = silent_for(runner) if alive else None
        return RunnerView(
            state=state,
            reason=describe(silent) if silent is not None else str(runner.get("reason") or ""),
            alive=alive,
            launched=runner.get("launched"),
            budget=runner.get("budget"),
            pid=runner.get("pid"),
        )

    def poll(self) -> SessionDelta:
        now = time.monotonic()
        delta = SessionDelta(initial=not self._polled)
        self._polled = True
        runner = self._runner_view()
        if runner != self.runner or delta.initial:
            self.runner = runner
            delta.runner = runner
        touched: set[int] = set()
        for line in self._events.read():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            trial = event.get("trial") if isinstance(event, dict) else None
            if isinstance(trial, int):
                touched.add(trial)
        new = self._scan(now)
        self._known |= new
        check = (touched & self._known) | new | self._live
        for number in sorted(check):
            status = self._read_status(number)
            live = self.follow_metrics and (
                (status is not None and status.get("state") in LIVE_STATES)
                or (status is None and number in self._live)
            )
            points: list[tuple[int, float]] = []
            log = None
            if live:
                points, log = self._tail(number)
            if status is None:
                if points and number in self.rows:
                    row = self.rows[number]
                    series = self.series.get(number, [])
                    pick = max if self.maximize else min
                    updated = dataclasses.replace(
                        row,
                        epoch=max(p[0] for p in series),
                        current=series[-1][1],
                        best=pick(v for _, v in series),
                    )
                    self._set_row(updated)
                    delta.rows.append(updated)
                if points:
                    delta.points[number] = points
                continue
            if status.get("state") in LIVE_STATES:
                self._live.add(number)
            else:
                self._live.discard(number)
                entry = self._tails.pop(number, None)
                if entry is not None:
                    # last lines written before the trial ended
                    entry[0].close()
            row = trial_row(status, log)
            if points:
                delta.points[number] = points
            if self.rows.get(number) != row:
                self._set_row(row)
                delta.rows.append(row)
        if delta.rows or delta.initial:
            delta.counts = dict(self.counts())
            delta.best = self._best
        return delta

    # -- derived views ----------------------------------------------------------
    def _set_row(self, row: TrialRow) -> None:
        old = self.rows.get(row.number)
        if old is not None:
            self._counts[old.state] -= 1
        self._counts[row.state] += 1
        self.rows[row.number] = row
        best = self._best
        if best is not None and best.number == row.number:
            self._best = self._find_best()  # rare: the best trial itself changed
        elif self._better(row, best):
            self._best = row

    def _better(self, row: TrialRow, best: TrialRow | None) -> bool:
        if row.state != "complete" or row.value is None or not math.isfinite(row.value):
            return False
        if best is None or best.value is None:
            return True
        return row.value > best.value if self.maximize else row.value < best.value

    def _find_best(self) -> TrialRow | None:
        done = [
            r
            for r in self.rows.values()
            if r.state == "complete" and r.value is not None and math.isfinite(r.value)
        ]
        if not done:
            return None
        key = lambda r: r.value  # noqa: E731
        return max(done, key=key) if self.maximize else min(done, key=key)

    def counts(self) -> Counter[str]:
        """Trials per state (kept up to date by :meth:`poll`)."""
        return +self._counts

    def best(self) -> TrialRow | None:
        """The best completed trial (kept up to date by :meth:`poll`)."""
        return self._best


# --------------------------------------------------------------------- sessions
@dataclass(frozen=True)
class SessionRow:
    """One line of the sessions screen."""

    id: str
    name: str
    state: str
    trials: int
    done: int
    running: int
    failed: int
    pruned: int
    best: float | None
    best_trial: int | None
    metric: str
    direction: str
    created: str
    path: str
    alive: bool


def session_row(watcher: SessionWatcher) -> SessionRow:
    counts = watcher.counts()
    best = watcher.best()
    info = watcher.info
    return SessionRow(
        id=watcher.session.id,
        name=str(info.get("name") or watcher.session.id),
        state=watcher.runner.state,
        trials=len(watcher.rows),
        done=counts.get("complete", 0),
        running=counts.get("running", 0),
        failed=counts.get("fail", 0),
        pruned=counts.get("pruned", 0),
        best=best.value if best else None,
        best_trial=best.number if best else None,
        metric=watcher.metric,
        direction=watcher.direction,
        created=str(info.get("created") or "")[:16].replace("T", " "),
        path=str(watcher.session.path),
        alive=watcher.runner.alive,
    )


class StoreWatcher:
    """Every session of a store, summarised incrementally (the sessions screen)."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self._watchers: dict[str, SessionWatcher] = {}

    def poll(self) -> list[SessionRow]:
        rows = []
        seen = set()
        for session in list_sessions(self.store):
            seen.add(session.id)
            watcher = self._watchers.get(session.id)
            if watcher is None:
                watcher = self._watchers[session.id] = SessionWatcher(session, follow_metrics=False)
            watcher.poll()
            rows.append(session_row(watcher))
        for gone in set(self._watchers) - seen:
            self._watchers.pop(gone).close()
        return rows


def open_session(store: Path, ref: str | None) -> Session:
    """A session by id, prefix or path (``None``: the most recent running one)."""
    try:
        return Session.open(store, ref)
    except SessionError as exc:
        raise ServiceError(str(exc)) from None


def delete_session(session: Session) -> None:
    """Remove a session directory; never one whose runner may still be alive."""
    state = session.state()
    if session.runner_alive() or state in ACTIVE_STATES:
        raise ServiceError(
            f"{session.id} is {state}: its runner is alive; stop it first (`s` or `kttui stop`)"
        )
    if not (session.path / "session.json").is_file():
        raise ServiceError(f"{session.path} is not a session directory")
    try:
        shutil.rmtree(session.path)
    except OSError as exc:
        raise ServiceError(f"cannot delete {session.path}: {exc.strerror}") from None


# --------------------------------------------------------------------- control
def control(session: Session, command: str, **args: Any) -> dict[str, Any]:
    """One command to the session's runner (status/pause/resume/stop/kill/shutdown)."""
    from kttui.control import ControlError, request

    try:
        return request(session, command, **args)
    except ControlError as exc:
        raise ServiceError(str(exc)) from None


def resume(session: Session) -> str:
    """Launch again after a pause, or restart a stopped or crashed runner."""
    state = session.state()
    if state == "paused":
        control(session, "resume")
        return "launching resumed"
    if state in ("stopped", "crashed") and not session.runner_alive():
        from kttui.daemon import DaemonError, spawn_runner
        from kttui.sessionlock import SessionBusy

        try:
            pid = spawn_runner(session, resume=True)
        except SessionBusy as exc:
            raise ServiceError(str(exc)) from None
        except DaemonError as exc:
            raise ServiceError(str(exc).splitlines()[0]) from None
        return f"runner restarted (pid {pid})"
    raise ServiceError(f"{session.id} is {state}: nothing to resume")


# --------------------------------------------------------------------- specs
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


def _spec_data(session: Session) -> dict[str, Any]:
    """A session's frozen spec as plain data ({} when unreadable)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(session.spec_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


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
        tmp = path.with_name(f".{path.name}.kttui-tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
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


def new_session(
    store: Path,
    loaded: LoadedSpec,
    source: Path | None,
    *,
    launch_dir: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> Session:
    """The one way a sweep session is created (``kttui run``, ``kttui demo``, the editor).

    Commands run in ``launch_dir`` (default: here); ``workdir`` is relative to the spec.
    """
    cwd = (launch_dir or Path.cwd()).resolve()
    spec_dir = source.resolve().parent if source else cwd
    info: dict[str, Any] = {"launch_dir": str(cwd), "spec_dir": str(spec_dir), **(extra or {})}
    try:
        return Session.create(
            store,
            loaded.spec,
            loaded.text,
            source=str(source.resolve()) if source else None,
            extra=info,
        )
    except (SessionError, OSError) as exc:
        raise ServiceError(str(exc)) from None


def create_session(
    store: Path,
    spec_text: str,
    source: Path | None,
    *,
    launch_dir: Path | None = None,
) -> Session:
    """Validate a spec text and create its session, as ``kttui run`` does."""
    from kttui.specload import SpecError, load_spec_text

    filename = str(source) if source else "<spec>"
    try:
        loaded = load_spec_text(spec_text, filename)
    except SpecError as exc:
        raise ServiceError(f"the spec has {len(exc.issues)} problem(s): {exc.issues[0]}") from None
    return new_session(store, loaded, source, launch_dir=launch_dir)


def launch(
    store: Path, spec_text: str, source: Path | None, *, launch_dir: Path | None = None
) -> Session:
    """Create a session from a spec text and start its detached runner."""
    from kttui.daemon import DaemonError, spawn_runner

    session = create_session(store, spec_text, source, launch_dir=launch_dir)
    try:
        spawn_runner(session, cwd=(launch_dir or Path.cwd()).resolve())
    except DaemonError as exc:
        raise ServiceError(str(exc)) from None
    return session


# --------------------------------------------------------------------- logs
@dataclass(frozen=True)
class LogLine:
    stream: str  # "out" or "err"
    text: str


class LogFollower:
    """The stdout and stderr of one trial: a backlog, then new lines as they come."""

    def __init__(self, session: Session, number: int) -> None:
        self.number = number
        tdir = session.trial_dir(number)
        self._tails = {"out": FileTail(tdir / "stdout.log"), "err": FileTail(tdir / "stderr.log")}
        self._cut: set[str] = set()
        for stream, tail in self._tails.items():
            with contextlib.suppress(OSError):
                size = os.stat(tail.path).st_size
                if size > LOG_BACKLOG_BYTES:
                    tail.offset = size - LOG_BACKLOG_BYTES
                    self._cut.add(stream)

    def read(self) -> list[LogLine]:
        out: list[LogLine] = []
        for stream, tail in self._tails.items():
            lines = tail.read_lines()
            if stream in self._cut and lines:
                lines = lines[1:]  # the backlog started inside a line
                self._cut.discard(stream)
            out.extend(LogLine(stream, sanitize(line)) for line in lines)
        return out

    def close(self) -> None:
        for tail in self._tails.values():
            tail.close()


# --------------------------------------------------------------------- details
@dataclass(frozen=True)
class TrialDetail:
    number: int
    status: dict[str, Any]
    params: dict[str, Any]
    metrics: list[dict[str, Any]]
    stderr_tail: list[str]
    paths: dict[str, str]


def read_metrics(session: Session, number: int) -> list[dict[str, Any]]:
    """Every epoch record of a trial (metrics.jsonl), with the same policy as the runner."""
    log = EpochLog("", "maximize")
    parser = LineParser("jsonl")
    try:
        with open(session.trial_dir(number) / "metrics.jsonl", encoding="utf-8") as fh:
            for line in fh:
                log.feed(parser.parse(line))
    except OSError:
        pass
    rows: list[dict[str, Any]] = [{"epoch": e, **log.epochs[e]} for e in sorted(log.epochs)]
    if log.final:
        rows.append({"epoch": "final", **log.final})
    return rows


def read_series(session: Session, number: int, metric: str) -> list[tuple[int, float]]:
    """(epoch, metric) pairs of a trial, for learning curves."""
    out = []
    for rec in read_metrics(session, number):
        value = rec.get(metric)
        if isinstance(rec.get("epoch"), int) and isinstance(value, float) and math.isfinite(value):
            out.append((int(rec["epoch"]), value))
    return out


def _tail_lines(path: Path, lines: int = 40) -> list[str]:
    return [sanitize(line) for line in last_lines(path, lines)]


def trial_detail(session: Session, number: int) -> TrialDetail:
    tdir = session.trial_dir(number)
    status = session.trial_status(number) or {"number": number, "state": "unknown"}
    params = read_json(tdir / "params.json")
    if not isinstance(params, dict):
        params = status.get("params") or {}
    paths = {
        name: str(tdir / name)
        for name in ("params.json", "metrics.jsonl", "stdout.log", "stderr.log", "status.json")
    }
    return TrialDetail(
        number=number,
        status=status,
        params=params,
        metrics=read_metrics(session, number),
        stderr_tail=_tail_lines(tdir / "stderr.log"),
        paths={"trial dir": str(tdir), **paths},
    )


# --------------------------------------------------------------------- stats
def param_names(rows: Iterable[TrialRow]) -> list[str]:
    names: set[str] = set()
    for row in rows:
        names.update(k for k, _ in row.params)
    return sorted(names)


# --------------------------------------------------------------------- GPUs
@dataclass(frozen=True)
class GpuRow:
    index: int
    name: str
    utilization_pct: float | None
    memory_used_mb: float | None
    memory_total_mb: float | None
    temperature_c: float | None
    trials: tuple[int, ...]


@dataclass(frozen=True)
class JobRow:
    """A running trial as its scheduler placed it (the GPUs pane of a SLURM sweep)."""

    trial: int
    job_id: str
    node: str
    gres: str


@dataclass(frozen=True)
class GpuSnapshot:
    gpus: tuple[GpuRow, ...]
    fake: bool
    note: str
    jobs: tuple[JobRow, ...] = ()


def gpu_snapshot(rows: Iterable[TrialRow], *, backend: str = "local") -> GpuSnapshot:
    """Every GPU of this machine with the running trials that hold it.

    On a scheduler backend the trials run on other nodes: the snapshot lists
    each running trial's job id, node and GRES instead of this machine's GPUs.
    """
    rows = list(rows)
    if backend not in ("", "local"):
        jobs = tuple(
            JobRow(r.number, r.job_id or "-", r.node or "-", r.gres or "-")
            for r in sorted(rows, key=lambda r: r.number)
            if r.state == "running"
        )
        note = f"{backend}: {len(jobs)} running job(s); GPUs as the scheduler granted them"
        return GpuSnapshot(gpus=(), fake=False, note=note, jobs=jobs)
    from kttui.backends.gpus import FAKE_ENV, detect_gpus

    holders: dict[int, list[int]] = {}
    for row in rows:
        if row.state == "running":
            for g in row.gpus:
                holders.setdefault(g, []).append(row.number)
    gpus = detect_gpus()
    fake = any(g.fake for g in gpus)
    if fake:
        note = f"fake GPU inventory ({FAKE_ENV}={len(gpus)}): no real readings"
    elif not gpus:
        note = "no GPU detected: trials run on CPU slots"
    else:
        note = f"{len(gpus)} GPU(s)"
    return GpuSnapshot(
        gpus=tuple(
            GpuRow(
                g.index,
                g.name,
                g.utilization_pct,
                g.memory_used_mb,
                g.memory_total_mb,
                g.temperature_c,
                tuple(sorted(holders.get(g.index, []))),
            )
            for g in gpus
        ),
        fake=fake,
        note=note,
    )


# --------------------------------------------------------------------- reports
#: Below this many completed trials the pane shows the best config only.
MIN_ANALYSIS_TRIALS = 3


@dataclass(frozen=True)
class Stats:
    """The advice pane's text and the report analysis behind it (None: too few trials).

    The console's importance chart and pair view read the same analysis, so the
    numbers they show are the report's.
    """

    markdown: str
    analysis: Any = None  # kttui.analysis.overview.Analysis


def recommendations_markdown(
    session: Session, rows: Sequence[TrialRow], *, maximize: bool = True, metric: str = "value"
) -> str:
    """The recommendations pane's Markdown (see :func:`session_stats`)."""
    return session_stats(session, rows, maximize=maximize, metric=metric).markdown


def session_stats(
    session: Session, rows: Sequence[TrialRow], *, maximize: bool = True, metric: str = "value"
) -> Stats:
    """The recommendations pane: best config, the report's findings and elite analysis,
    per-param values of the top trials, failures.

    The findings come from :func:`kttui.report.render_recommendations`, the functions
    ``kttui report`` and the ``x`` key use; this runs in a worker thread.
    """
    done = [r for r in rows if r.state == "complete" and r.value is not None]
    out = [f"**Recommendations** ({len(done)} complete of {len(rows)} trials)"]
    if not done:
        out.append("\nNo completed trial yet.")
    else:
        ordered = sorted(done, key=lambda r: r.value or 0.0, reverse=maximize)
        best = ordered[0]
        value = format_value(best.value)
        out.append(f"\n### Best config: trial {best.number}, {metric} = {value}\n")
        out += [f"- {md_code(k)} = {md_escape(format_value(v))}" for k, v in best.params]
        top = ordered[: max(3, len(ordered) // 10)]
        out.append(f"\n### Per-param values of the top {len(top)} trials\n")
        out.append("| param | best | top range |\n|---|---|---|")
        for name in param_names(top):
            values = [r.param(name) for r in top if r.param(name) is not None]
            numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if numeric and len(numeric) == len(values):
                span = f"{format_value(min(numeric))} … {format_value(max(numeric))}"
            else:
                common = Counter(format_value(v) for v in values).most_common(3)
                span = ", ".join(f"{v} ×{n}" for v, n in common)
            out.append(
                f"| {md_escape(name)} | {md_escape(format_value(best.param(name)))} "
                f"| {md_escape(span)} |"
            )
    analysis = None
    if len(done) >= MIN_ANALYSIS_TRIALS:
        try:
            from kttui.analysis.load import load_session, session_spec
            from kttui.report import recommendations_analysis, render_recommendations

            table, spec = load_session(session), session_spec(session)
            analysis = recommendations_analysis(table, spec=spec)
            out.append("\n" + render_recommendations(table, spec=spec, analysis=analysis))
        except Exception as exc:  # the analysis must never take the console down
            out.append(f"\n(analysis unavailable: {type(exc).__name__}: {exc})")
    failed = [r for r in rows if r.state == "fail"]
    out.append(f"\n### Failed trials ({len(failed)})\n")
    if not failed:
        out.append("None.")
    else:
        reasons = Counter((r.reason or "unknown").split("\n")[0][:80] for r in failed)
        out.append("| reason | trials |\n|---|---|")
        for reason, n in reasons.most_common(8):
            numbers = [str(r.number) for r in failed if (r.reason or "unknown")[:80] == reason]
            shown = ", ".join(numbers[:6]) + (" …" if len(numbers) > 6 else "")
            out.append(f"| {md_escape(reason)} ({n}) | {shown} |")
    return Stats("\n".join(out) + "\n", analysis)


def report_markdown(session: Session) -> str:
    """The whole Markdown report of a session: :mod:`kttui.report`'s analysis.

    A session without trials (or a checkout without the analysis modules) gets
    the summary of :func:`summary_markdown` instead.
    """
    try:
        from kttui.analysis.load import load_session, session_spec
        from kttui.report import render_report
    except ImportError:
        return summary_markdown(session)
    table = load_session(session)
    if table.df.empty:
        return summary_markdown(session)
    spec = session_spec(session)
    try:
        return render_report(table, spec=spec, command=(spec or {}).get("command"))
    except Exception as exc:  # the analysis must never take the console down
        raise ServiceError(f"the report failed: {type(exc).__name__}: {exc}") from exc


def summary_markdown(session: Session) -> str:
    """A short Markdown summary of a session, from its status files only."""
    watcher = SessionWatcher(session, follow_metrics=False)
    watcher.poll()
    rows = sorted(watcher.rows.values(), key=lambda r: r.number)
    info = session.info()
    counts = watcher.counts()
    head = [
        f"# Sweep report: {session.id}",
        "",
        f"- state: {watcher.runner.state}",
        f"- objective: {watcher.metric} ({watcher.direction})",
        f"- created: {info.get('created', '-')}",
        f"- trials: {len(rows)} ({counts.get('complete', 0)} complete, "
        f"{counts.get('running', 0)} running, {counts.get('pruned', 0)} pruned, "
        f"{counts.get('fail', 0)} failed)",
    ]
    baseline = (info.get("baseline") or {}).get("value")
    if baseline is not None:
        head.append(f"- baseline: {format_value(baseline)}")
    body = recommendations_markdown(session, rows, maximize=watcher.maximize, metric=watcher.metric)
    watcher.close()
    return "\n".join(head) + "\n\n" + body


def export_report(session: Session) -> Path:
    """Write ``<session>/report.md`` and return its path."""
    text = report_markdown(session)
    path = session.path / "report.md"
    try:
        tmp = path.with_name(".report.md.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ServiceError(f"cannot write {path}: {exc.strerror}") from None
    return path
