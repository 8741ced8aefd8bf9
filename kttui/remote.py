"""Studies that live only in a database (PostgreSQL), seen read-only.

``kttui sessions --storage URL`` lists the studies of a storage, and
``kttui attach --storage URL --study NAME`` opens one in the console: the study
is read through the Optuna importer into a private cache directory (replaced
on every attach), so nothing is written to the database and no session
directory has to exist anywhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from kttui.session import Session, redact_url


def cache_store(url: str, study: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kttui" / "remote"
    digest = hashlib.sha1(f"{redact_url(url)}|{study}".encode()).hexdigest()[:12]
    return base / digest


def list_studies(url: str) -> list[dict[str, Any]]:
    """Name, direction, trial counts and best value of every study in a storage."""
    import optuna

    from kttui.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(url)
    rows = []
    for s in optuna.get_all_study_summaries(storage=storage, include_best_trial=True):
        study_id = storage.get_study_id_from_name(s.study_name)
        trials = storage.get_all_trials(study_id, deepcopy=False)
        states = [t.state.name.lower() for t in trials]
        best = s.best_trial.value if s.best_trial is not None else None
        rows.append(
            {
                "study": s.study_name,
                "direction": s.direction.name.lower() if len(s.directions) == 1 else "multi",
                "trials": s.n_trials,
                "complete": states.count("complete"),
                "running": states.count("running"),
                "pruned": states.count("pruned"),
                "fail": states.count("fail"),
                "best": best,
                "storage": redact_url(url),
            }
        )
    return rows


def snapshot(url: str, study: str | None) -> Session:
    """A read-only session of ``study`` (the only one in ``url`` when None), fresh each call."""
    from kttui.importers import write_session
    from kttui.importers.optuna_source import read_study
    from kttui.storage import with_password

    imported = read_study(with_password(url), study)
    imported.source = redact_url(url)
    store = cache_store(url, imported.name)
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True, mode=0o700)
    return write_session(store, imported)
