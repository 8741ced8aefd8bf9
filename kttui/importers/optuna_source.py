"""``kttui import optuna``: trials of an existing Optuna study (SQLite or PostgreSQL)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from kttui.importers import Imported, ImportedTrial, ImportError_, is_nonfinite

_STATE = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "fail", "RUNNING": "running"}


def _space_entry(dist: Any) -> dict[str, Any]:
    import optuna.distributions as d

    if isinstance(dist, d.FloatDistribution):
        out: dict[str, Any] = {"type": "float", "low": dist.low, "high": dist.high}
    elif isinstance(dist, d.IntDistribution):
        out = {"type": "int", "low": dist.low, "high": dist.high}
    elif isinstance(dist, d.CategoricalDistribution):
        choices = list(dist.choices)
        if sorted(map(str, choices)) == ["False", "True"]:
            return {"type": "bool"}
        return {"type": "categorical", "choices": choices}
    else:
        return {}
    if dist.log:
        out["log"] = True
    if dist.step is not None and not (out["type"] == "int" and dist.step == 1):
        out["step"] = dist.step
    return out


def read_study(url: str, study_name: str | None = None, metric: str = "value") -> Imported:
    """Read a study; messages show the URL without its password."""
    import optuna

    from kttui.session import redact_url

    shown = redact_url(url)

    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.is_file():
            raise ImportError_(f"{path}: no such database file")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        summaries = optuna.get_all_study_summaries(storage=url)
    except Exception as exc:  # sqlalchemy/driver errors: report, never a traceback
        raise ImportError_(
            f"{shown}: cannot open the storage: {type(exc).__name__}: {exc}"
        ) from None
    names = [s.study_name for s in summaries]
    if not names:
        raise ImportError_(f"{shown}: no study in this storage")
    if study_name is None:
        if len(names) > 1:
            raise ImportError_(
                f"{shown}: several studies, pick one with --study: {', '.join(names)}"
            )
        study_name = names[0]
    if study_name not in names:
        raise ImportError_(f"{shown}: no study {study_name!r} (studies: {', '.join(names)})")
    try:
        study = optuna.load_study(study_name=study_name, storage=url)
        frozen = study.get_trials(deepcopy=False)
        directions = study.directions
    except Exception as exc:  # a damaged database: report, never a traceback
        raise ImportError_(f"{shown}: cannot read study {study_name!r}: {exc}") from None
    if len(directions) != 1:
        raise ImportError_(f"{shown}: study {study_name!r} has several objectives")
    direction = "maximize" if directions[0].name == "MAXIMIZE" else "minimize"
    space: dict[str, dict[str, Any]] = {}
    trials = []
    internal = ("kttui:reuse_of", "kttui:infeasible", "kttui:unused")
    for t in frozen:
        if t.state.name == "WAITING" or any(k in t.user_attrs for k in internal):
            continue  # kttui's own bookkeeping (repeats told, infeasible asks): never results
        for name, dist in t.distributions.items():
            entry = _space_entry(dist)
            if entry and name not in space:
                space[name] = entry
        bad = next((k for k, v in t.params.items() if is_nonfinite(v)), None)
        if bad is not None:
            raise ImportError_(
                f"{shown}: trial {t.number}: param {bad!r} is {t.params[bad]} (a param value"
                " cannot be NaN or infinite)"
            )
        value = t.value if t.value is not None and math.isfinite(t.value) else None
        attrs = {
            k: float(v)
            for k, v in t.user_attrs.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        duration = t.duration.total_seconds() if t.duration is not None else None
        trials.append(
            ImportedTrial(
                number=t.number,
                state=_STATE.get(t.state.name, "incomplete"),
                params=dict(t.params),
                value=value,
                metrics=attrs,
                curve=[{"epoch": s, metric: v} for s, v in sorted(t.intermediate_values.items())],
                duration_s=duration,
            )
        )
    return Imported(
        name=study_name,
        source=shown,
        metric=metric,
        direction=direction,
        params=sorted(space),
        trials=trials,
        space=space,
    )
