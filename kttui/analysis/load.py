"""From a session directory to a :class:`TrialFrame`: the one loader every analysis uses.

It reads only the session's files (trial ``status.json`` and ``metrics.jsonl``,
the frozen spec or, for imported sessions, ``session.json``), so it works the
same on a running sweep, a finished one and an import, and never touches the
study database the runner writes.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from kttui.analysis.table import ParamInfo, TrialFrame, infer_param_info, space_from_spec
from kttui.metricsfile import FILE_NAME, epoch_records, read_epoch_log
from kttui.reproduce import trial_lines
from kttui.session import Session

_STATE = {"complete": "complete", "pruned": "pruned", "fail": "fail", "running": "running"}


def session_spec(session: Session) -> dict[str, Any] | None:
    """The session's spec as plain data (None for imported sessions)."""
    if not session.spec_path.is_file():
        return None
    from kttui.specload import SpecError, load_spec

    try:
        return load_spec(session.spec_path).spec.model_dump(mode="json", exclude_none=True)
    except SpecError:
        return None


def read_curve(session: Session, number: int) -> pd.DataFrame | None:
    """A trial's epochs as the runner counted them (kttui/metricsfile.py), one row each."""
    log = read_epoch_log(session.trial_dir(number) / FILE_NAME)
    if not log.epochs:
        return None
    return pd.DataFrame(epoch_records(log, final=False))


def load_session(session: Session, *, curves: bool = False) -> TrialFrame:
    """The trials of ``session``; ``curves`` also reads every per-epoch file (slow when big)."""
    info = session.info()
    spec = session_spec(session)
    objective = (spec or info).get("objective") or {}
    metric = str(objective.get("metric", "value"))
    direction = objective.get("direction", "maximize")
    if spec is not None:
        params = list(spec["space"])
        space: dict[str, ParamInfo] = space_from_spec(spec["space"])
        fixed = dict(spec.get("fixed") or {})
        baseline = (spec.get("baseline") or {}).get("value")
        target = spec.get("target")
    else:
        params = list(info.get("params") or [])
        space = space_from_spec(info["space"]) if info.get("space") else {}
        fixed = dict(info.get("fixed") or {})
        baseline = (info.get("baseline") or {}).get("value")
        target = info.get("target")
    records = []
    curve_map: dict[int, pd.DataFrame] = {}
    for st in session.trial_statuses():
        number = int(st["number"])
        values = st.get("params") or {}
        value = st.get("value")
        final = {k: v for k, v in (st.get("final") or {}).items() if k != metric}
        record: dict[str, Any] = {
            "number": number,
            "state": _STATE.get(str(st.get("state")), "incomplete"),
            "value": float(value) if isinstance(value, int | float) else math.nan,
            "duration_s": st.get("duration_s"),
            "epochs": st.get("epochs"),
            "params": {p: values.get(p) for p in params} if params else dict(values),
            "metrics": final,
        }
        if st.get("label"):  # the user's own id of an imported trial
            record["label"] = str(st["label"])
        ran = trial_lines(session.trial_dir(number))
        if ran:
            record["command"] = ran
        for key in ("budget", "seed"):
            if key in values and key not in params:
                record[key] = values[key]
        if st.get("seed") is not None:  # a repeat of a config (spec `repeats`)
            record["seed"] = st["seed"]
        if st.get("budget") is not None:  # a budget tier (spec `budgets`)
            record["budget"] = st["budget"]
        records.append(record)
        if curves:
            curve = read_curve(session, number)
            if curve is not None:
                curve_map[number] = curve
    if not params and records:
        params = sorted({k for r in records for k in r["params"]})
    if not space and records:
        space = {p: infer_param_info(p, [r["params"].get(p) for r in records]) for p in params}
    return TrialFrame.from_records(
        records,
        params=params,
        objective=metric,
        direction=direction,
        baseline=float(baseline) if isinstance(baseline, int | float) else None,
        target=float(target) if isinstance(target, int | float) else None,
        space=space,
        fixed=fixed,
        curves=curve_map or None,
        name=session.id,
    )
