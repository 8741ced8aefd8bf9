"""Opening the Optuna storage of a session: SQLite in the session, or any RDB URL.

SQLite is opened in WAL mode with a busy timeout: the runner is the single
writer, and WAL lets optuna-dashboard or an ad-hoc reader look at the study
without ever blocking it.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import optuna
from sqlalchemy import event
from sqlalchemy.engine import Engine

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


def open_storage(url: str) -> optuna.storages.RDBStorage:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
    else:
        kwargs["pool_pre_ping"] = True
    return optuna.storages.RDBStorage(
        with_password(url),
        engine_kwargs=kwargs,
        heartbeat_interval=HEARTBEAT_S,
        grace_period=HEARTBEAT_S * 4,
    )
