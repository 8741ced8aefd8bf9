"""The session store: one directory per sweep, the source of truth for every reader.

Layout of ``<store>/<session-id>/`` (directories 0700)::

    spec.yaml        the spec as launched (frozen copy of the user's text)
    session.json     id, name, created, objective, storage URL (password removed)
    study.db         Optuna's SQLite storage (default); optuna-dashboard opens it
    study-schema.json  the Optuna version and schema revision a runner checked study.db at
    runner.json      pid, host, socket, started, state of the runner
    runner.log       the detached runner's own output
    events.jsonl     launch/finish/prune/fail/kill/... with timestamps
    trials/<n>/      params.json, metrics.jsonl, stdout.log, stderr.log, status.json
    trials.jsonl     an import's trial statuses, one per line (kttui/importers)
    .disk-reserve    room the runner frees to say "disk full" (kttui/diskfull.py)

Readers (CLI, TUI, reports) only read these files, never the SQLite database,
so they can never block the single writer of the study.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kttui import pending
from kttui.atomicfile import write_json_atomic
from kttui.backends.base import read_proc_stat
from kttui.best import best as best_of
from kttui.best import maximizing

if TYPE_CHECKING:  # the console opens sessions without loading pydantic
    from kttui.spec import Spec

STORE_ENV = "KTTUI_HOME"
PACKED_TRIALS = "trials.jsonl"
ACTIVE_STATES = ("starting", "running", "paused", "stopping")


class SessionError(Exception):
    """A session cannot be found, created or used; the message says which and why."""


def default_store(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--sessions-dir`` wins, then ``$KTTUI_HOME``, then ``./sessions``."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env).expanduser()
    return Path("sessions")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


_URL_PASSWORD = re.compile(r"(://[^:/@\s'\"]+):([^@\s'\"]*)@")


def redact_url(url: str) -> str:
    """postgresql://u:secret@h/db -> postgresql://u:***@h/db (never log a password)."""
    return _URL_PASSWORD.sub(r"\1:***@", url)


def url_password(url: str | None) -> str | None:
    """The password written inside a URL, if any (it goes to the runner by environment)."""
    match = _URL_PASSWORD.search(url or "")
    if match is None or match.group(2) in ("", "***"):
        return None
    from urllib.parse import unquote

    return unquote(match.group(2))


def pid_alive(pid: int, start_time: int | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = read_proc_stat(pid)
    if stat is not None and stat.state in ("Z", "X"):
        return False  # a zombie has finished
    return start_time is None or (stat is not None and stat.start_time == start_time)


_trial_keys: dict[Path, str] = {}  # a session's key never changes once written


@dataclass(frozen=True)
class Session:
    path: Path

    # -- paths ---------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.path.name

    @property
    def spec_path(self) -> Path:
        return self.path / "spec.yaml"

    @property
    def info_path(self) -> Path:
        return self.path / "session.json"

    @property
    def db_path(self) -> Path:
        return self.path / "study.db"

    @property
    def schema_path(self) -> Path:
        return self.path / "study-schema.json"

    @property
    def runner_path(self) -> Path:
        return self.path / "runner.json"

    @property
    def runner_log(self) -> Path:
        return self.path / "runner.log"

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def trials_dir(self) -> Path:
        return self.path / "trials"

    def trial_dir(self, number: int) -> Path:
        return self.trials_dir / str(number)

    # -- creation and lookup -------------------------------------------------
    @classmethod
    def create(
        cls,
        store: Path,
        spec: Spec,
        spec_text: str,
        *,
        source: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Session:
        """A new session directory holding a frozen copy of the spec."""
        try:
            store.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SessionError(f"cannot create session store {store}: {exc.strerror}") from None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{spec.name}-{stamp}"
        for i in range(1000):
            path = store / (base if i == 0 else f"{base}-{i}")
            try:
                path.mkdir(mode=0o700)
                break
            except FileExistsError:
                continue
            except OSError as exc:
                raise SessionError(f"cannot create {path}: {exc.strerror}") from None
        else:
            raise SessionError(f"too many sessions named {base} in {store}")
        session = cls(path.resolve())
        session.trials_dir.mkdir(mode=0o700)
        # the frozen copy never holds a database password (it comes from the environment)
        session.spec_path.write_text(redact_url(spec_text), encoding="utf-8")
        storage = spec.storage or f"sqlite:///{session.db_path}"
        write_json_atomic(
            session.info_path,
            {
                "id": session.id,
                "name": spec.name,
                "created": now_iso(),
                "source": source,
                "study_name": spec.name,
                "storage": redact_url(storage),
                "objective": spec.objective.model_dump(),
                "baseline": spec.baseline.model_dump() if spec.baseline else None,
                "target": spec.target,
                "kind": "sweep",
                "trial_key": f"{session.id}.{secrets.token_hex(4)}",
                **(extra or {}),
            },
        )
        return session

    @classmethod
    def open(cls, store: Path, ref: str | None) -> Session:
        """A session by id, unique id prefix, path, or (ref=None) the most recent one."""
        if ref is None:
            sessions = list_sessions(store)
            if not sessions:
                raise SessionError(f"no sessions in {store} (start one with `kttui run SPEC`)")
            running = [s for s in sessions if s.state() in ACTIVE_STATES]
            return (running or sessions)[-1]
        direct = Path(ref)
        if (direct / "session.json").is_file():
            return cls(direct.resolve())
        candidate = store / ref
        if (candidate / "session.json").is_file():
            return cls(candidate.resolve())
        matches = [s for s in list_sessions(store) if s.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(s.id for s in matches[:5])
            raise SessionError(f"{ref!r} matches several sessions: {names}")
        raise SessionError(f"no session {ref!r} in {store}")

    # -- reading -------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        data = read_json(self.info_path)
        return data if isinstance(data, dict) else {}

    @property
    def trial_key(self) -> str:
        """What names this session's trial processes and jobs (their token is ``<key>:<n>``).

        Ids are second-resolution stamps, so two stores can hold the same id: a random
        part keeps ``kill`` and cleanup away from another store's trials. Sessions made
        before the key existed keep their id as key, so their running trials still match.
        """
        key = _trial_keys.get(self.path)
        if key is None:
            key = self.info().get("trial_key")
            if not isinstance(key, str) or not key:
                return self.id
            _trial_keys[self.path] = key
        return key

    def storage_url(self) -> str:
        """The real storage URL (the password, if any, comes from the environment)."""
        from kttui.specload import load_spec

        spec = load_spec(self.spec_path).spec
        return spec.storage or f"sqlite:///{self.db_path}"

    def runner(self) -> dict[str, Any] | None:
        data = read_json(self.runner_path)
        return data if isinstance(data, dict) else None

    def runner_alive(self) -> bool:
        info = self.runner()
        if not info or info.get("host") != socket.gethostname():
            return False
        return pid_alive(int(info.get("pid", 0)), info.get("pid_start"))

    def state(self) -> str:
        """created|starting|running|paused|stopping|finished|stopped|crashed|imported."""
        info = self.runner()
        if info is None:
            return "imported" if self.info().get("kind") == "imported" else "created"
        state = str(info.get("state", "crashed"))
        here = info.get("host") == socket.gethostname()
        if state in ACTIVE_STATES and here and not self.runner_alive():
            return "crashed"
        return state

    def trial_numbers(self) -> list[int]:
        packed = self.packed_statuses()
        if packed:
            return sorted(packed)
        if not self.trials_dir.is_dir():
            return []
        return sorted(int(p.name) for p in self.trials_dir.iterdir() if p.name.isdigit())

    def trial_status(self, number: int) -> dict[str, Any] | None:
        packed = self.packed_statuses()
        if packed:
            return packed.get(number)
        data = read_json(self.trial_dir(number) / "status.json")
        return data if isinstance(data, dict) else None

    def packed_statuses(self) -> dict[int, dict[str, Any]]:
        """An import's statuses from ``trials.jsonl`` ({} for a runner's session).

        Parsed once per version of the file and shared: callers must not mutate.
        """
        try:
            st = os.stat(self.path / PACKED_TRIALS)
        except OSError:
            return {}
        return _read_packed(str(self.path / PACKED_TRIALS), st.st_mtime_ns, st.st_size)

    def trial_statuses(self) -> list[dict[str, Any]]:
        packed = self.packed_statuses()
        if packed:
            return list(packed.values())
        out = []
        for n in self.trial_numbers():
            status = self.trial_status(n)
            if status is not None:
                out.append(status)
        return out

    def events(self) -> Iterator[dict[str, Any]]:
        try:
            with open(self.events_path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue
        except OSError:
            return

    # -- writing (the runner) ---------------------------------------------------
    def append_event(self, event: str, **data: Any) -> None:
        """Append one event; on a full disk it waits in memory (kttui/pending.py)."""
        record = {"t": now_iso(), "ts": round(time.time(), 3), "event": event, **data}
        pending.append_line(self.events_path, json.dumps(record, default=str) + "\n")

    def write_runner(self, data: dict[str, Any]) -> None:
        write_json_atomic(self.runner_path, data)

    def write_trial_status(
        self, number: int, data: dict[str, Any], *, durable: bool = True
    ) -> None:
        """``durable=False``: no fsync, for a status the next write supersedes (atomicfile)."""

        def write(path: Path, value: Any) -> None:
            write_json_atomic(path, value, durable=durable)

        pending.write_json(self.trial_dir(number) / "status.json", data, write)


@functools.lru_cache(maxsize=4)
def _read_packed(path: str, mtime_ns: int, size: int) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    with contextlib.suppress(OSError), open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("number"), int):
                out[data["number"]] = data
    return out


def list_sessions(store: Path) -> list[Session]:
    """Sessions in ``store``, oldest first (by creation time in session.json)."""
    if not store.is_dir():
        return []
    found = []
    for path in store.iterdir():
        if (path / "session.json").is_file():
            session = Session(path.resolve())
            found.append((str(session.info().get("created", "")), session.id, session))
    return [s for _, _, s in sorted(found, key=lambda t: (t[0], t[1]))]


def summarize(session: Session) -> dict[str, Any]:
    """Counts and best value from the trial status files (what `sessions`/`status` print)."""
    info = session.info()
    objective = info.get("objective") or {}
    counts = {"complete": 0, "running": 0, "pruned": 0, "fail": 0, "queued": 0}
    statuses = session.trial_statuses()
    for st in statuses:
        state = str(st.get("state"))
        counts[state] = counts.get(state, 0) + 1
    complete = [st for st in statuses if st.get("state") == "complete"]
    top = best_of(complete, lambda st: st.get("value"), maximizing(objective.get("direction")))
    runner = session.runner() or {}
    return {
        "id": session.id,
        "name": info.get("name"),
        "path": str(session.path),
        "state": session.state(),
        "reason": runner.get("reason"),
        "created": info.get("created"),
        "metric": objective.get("metric"),
        "direction": objective.get("direction"),
        "trials": len(statuses),
        "counts": counts,
        "best_value": float(top["value"]) if top else None,
        "best_trial": int(top["number"]) if top else None,
        "budget": runner.get("budget"),
        "pid": runner.get("pid"),
    }
