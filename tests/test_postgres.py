"""An Optuna RDB storage on a real PostgreSQL server (tests/infra/pg_up.sh starts it).

The URL and password come from $KTTUI_TEST_PG_URL / $KTTUI_TEST_PG_PASSWORD, or from the
kttui.env file pg_up.sh writes ($KTTUI_PG_DIR, /var/tmp/kttui-pg). The tests skip only
when no server answers; a missing driver is a failure (install ``psycopg[binary]``, the
driver SQLAlchemy 2.1 uses for ``postgresql://``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import missing

SKIP = "postgresql not running: run tests/infra/pg_up.sh"


def _settings() -> tuple[str, str] | None:
    url = os.environ.get("KTTUI_TEST_PG_URL")
    password = os.environ.get("KTTUI_TEST_PG_PASSWORD")
    env_file = Path(os.environ.get("KTTUI_PG_DIR", "/var/tmp/kttui-pg")) / "kttui.env"
    if not (url and password):
        try:
            lines = env_file.read_text().splitlines()
        except OSError:
            return None
        values = dict(line.split("=", 1) for line in lines if "=" in line)
        url = url or values.get("KTTUI_TEST_PG_URL")
        password = password or values.get("KTTUI_TEST_PG_PASSWORD")
    if not (url and password):
        return None
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2):
            pass
    except OSError:
        return None
    return url, password


@pytest.fixture(scope="module")
def pg() -> tuple[str, str]:
    found = _settings()
    if found is None:
        missing(SKIP)
    from sqlalchemy.engine import make_url

    dialect = make_url(found[0]).get_dialect()
    try:
        dialect.import_dbapi()
    except ImportError:
        pytest.fail(
            f"the server is up but the {dialect.driver} driver is missing: "
            "pip install 'psycopg[binary]'"
        )
    return found


@pytest.fixture
def study_name(pg: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import optuna

    from kttui.storage import open_storage

    url, password = pg
    monkeypatch.setenv("KTTUI_DB_PASSWORD", password)
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    monkeypatch.setenv("KTTUI_DB_PASSWORD", password)  # a test may have changed it
    storage = open_storage(url)
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=name, storage=storage)
    storage.engine.dispose()


def test_open_storage_takes_the_password_from_the_environment(
    pg: tuple[str, str], study_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import optuna
    import sqlalchemy.exc

    from kttui.storage import open_storage, with_password

    url, password = pg
    assert password not in url
    assert with_password(url) != url
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize")
    for x in (0.1, 0.7, 0.4):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        study.tell(trial, x)
    storage.engine.dispose()

    again = optuna.load_study(study_name=study_name, storage=open_storage(url))
    assert [t.value for t in again.trials] == [0.1, 0.7, 0.4]
    assert again.best_value == 0.7

    monkeypatch.setenv("KTTUI_DB_PASSWORD", "wrong")
    with pytest.raises(sqlalchemy.exc.OperationalError, match="password authentication failed"):
        open_storage(url)


WRITER = textwrap.dedent(
    """
    import sys, time
    import optuna
    from kttui.storage import open_storage
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, name, worker = sys.argv[1:4]
    n, start = int(sys.argv[4]), float(sys.argv[5])
    study = optuna.load_study(study_name=name, storage=open_storage(url))
    time.sleep(max(0.0, start - time.time()))
    for i in range(n):
        trial = study.ask()
        x = trial.suggest_float("x", -1, 1)
        trial.set_user_attr("worker", worker)
        study.tell(trial, x * x)
    print("done", worker)
    """
)


def test_two_processes_write_one_study_in_parallel(
    pg: tuple[str, str], study_name: str, tmp_path: Path
) -> None:
    import time

    import optuna

    from kttui.storage import open_storage

    url, _password = pg
    optuna.create_study(storage=open_storage(url), study_name=study_name)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    n = 25
    start = time.time() + 1.5  # both begin at the same moment, after their imports
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), url, study_name, w, str(n), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in ("a", "b")
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert out.startswith("done")
    study = optuna.load_study(study_name=study_name, storage=open_storage(url))
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 2 * n
    assert sorted(t.number for t in trials) == list(range(2 * n))  # no number given twice
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    workers = [t.user_attrs["worker"] for t in sorted(trials, key=lambda t: t.number)]
    assert workers.count("a") == workers.count("b") == n
    # interleaved: the two really wrote at the same time
    switches = sum(1 for x, y in itertools.pairwise(workers) if x != y)
    assert switches >= 2, workers


@pytest.mark.parametrize("password", ["kttui-test-pw", "p@ss:w/rd%20 #?&", "ünïcode"])
def test_the_password_never_shows_in_a_redacted_url(
    password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.parse import quote

    from kttui.session import redact_url
    from kttui.storage import with_password

    monkeypatch.setenv("KTTUI_DB_PASSWORD", password)
    for url in (
        "postgresql://kttui@127.0.0.1:55432/kttui",
        "postgresql+psycopg://kttui@db.example:5432/kttui?sslmode=require",
    ):
        full = with_password(url)
        assert quote(password, safe="") in full
        shown = redact_url(full)
        assert password not in shown and quote(password, safe="") not in shown
        assert shown == url.replace("kttui@", "kttui:***@", 1)


def test_the_live_url_is_redacted(pg: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from kttui.session import redact_url
    from kttui.storage import with_password

    url, password = pg
    monkeypatch.setenv("KTTUI_DB_PASSWORD", password)
    assert password not in redact_url(with_password(url))
    assert redact_url(with_password(url)).startswith("postgresql://kttui:***@")
