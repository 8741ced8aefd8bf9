"""Opening the Optuna storage of a session: SQLite in the session, or any RDB URL.

SQLite is opened in WAL mode with a busy timeout: the runner is the single
writer, and WAL lets optuna-dashboard or an ad-hoc reader look at the study
without ever blocking it.

A resumed runner must be launching again quickly (every second it is down, a
slot whose trial ended stays empty). Optuna's schema check loads every alembic
migration script and reflects every table; for the session's own SQLite file
the answer is known once a runner of the same Optuna version has checked it and
the file's alembic revision is still the one it saw (``SCHEMA_FILE``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy import event
from sqlalchemy.engine import Engine

from kttui.atomicfile import write_json_atomic

HEARTBEAT_S = 30
BUSY_TIMEOUT_S = 60
PASSWORD_ENV = "KTTUI_DB_PASSWORD"
_held: dict[str, str] = {}


def hold_password() -> None:
    """Move the database password from the environment into this process only.

    The runner calls this before it starts anything: trials (and every other child)
    inherit the environment, and a trial that dumps it would write the password into
    its folder, or show it in ``ps eww``.
    """
    password = os.environ.pop(PASSWORD_ENV, None)
    if password:
        _held[PASSWORD_ENV] = password


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.close()


def with_password(url: str) -> str:
    """Insert ``$KTTUI_DB_PASSWORD`` into a URL that has a user but no (or a redacted) password.

    Without either, the driver falls back to ``~/.pgpass``.
    """
    password = os.environ.get(PASSWORD_ENV) or _held.get(PASSWORD_ENV)
    if not password or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, sep, host = rest.partition("@")
    if creds.endswith(":***"):
        creds = creds[: -len(":***")]
    if not sep or ":" in creds:
        return url
    from urllib.parse import quote

    return f"{scheme}://{creds}:{quote(password, safe='')}@{host}"


def open_storage(url: str, checked: Path | None = None) -> optuna.storages.RDBStorage:
    """The storage; ``checked``: the record of an earlier schema check of this SQLite file.

    Only a file no other program writes may name ``checked`` (the session's own
    ``study.db``): the check is skipped while the record matches this Optuna and the
    file's revision, done (and recorded) otherwise.
    """
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
    else:
        kwargs["pool_pre_ping"] = True
        checked = None
    db = Path(url.split(":///", 1)[-1]) if checked is not None else None
    known = db is not None and checked is not None and _schema_known(db, checked)
    storage = optuna.storages.RDBStorage(
        with_password(url),
        engine_kwargs=kwargs,
        skip_compatibility_check=known,
        skip_table_creation=known,
        heartbeat_interval=HEARTBEAT_S,
        grace_period=HEARTBEAT_S * 4,
    )
    if db is not None and checked is not None and not known:
        _record_schema(db, checked)
    return storage


def _revision(db: Path) -> str | None:
    """The alembic revision of a SQLite study (None: no such file or table)."""
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _schema_known(db: Path, checked: Path) -> bool:
    try:
        record = json.loads(checked.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("optuna") != optuna.__version__:
        return False
    revision = record.get("revision")
    return isinstance(revision, str) and revision == _revision(db)


def _record_schema(db: Path, checked: Path) -> None:
    """After Optuna's own check passed: the revision it found compatible, for the next start."""
    revision = _revision(db)
    if revision is None:
        return
    with contextlib.suppress(OSError):  # (a full disk: the next start checks again)
        write_json_atomic(checked, {"optuna": optuna.__version__, "revision": revision})
