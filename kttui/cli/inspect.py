"""``kttui status`` and ``kttui sessions``: read the session directories, never the database."""

from __future__ import annotations

import argparse
import json
from typing import Any

from kttui.cli import fail


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not abs(value) < 1e5:  # 1e308 in .4f is 313 characters; inf and nan too
            from kttui.safetext import format_value

            return format_value(value)
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def cmd_status(args: argparse.Namespace) -> int:
    from kttui.heartbeat import describe, silent_for
    from kttui.session import ACTIVE_STATES, Session, SessionError, default_store, summarize

    try:
        session = Session.open(default_store(args.sessions_dir), args.session)
    except SessionError as exc:
        return fail(str(exc))
    summary = summarize(session)
    running = [
        {
            "trial": st["number"],
            "slot": st.get("slot"),
            "epoch": st.get("epoch"),
            "current": st.get("current"),
        }
        for st in session.trial_statuses()
        if st.get("state") == "running"
    ]
    summary["running"] = running
    silent = silent_for(session.runner()) if summary["state"] in ACTIVE_STATES else None
    summary["responding"] = silent is None
    if silent is not None:
        summary["reason"] = describe(silent)
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return 0
    c = summary["counts"]
    pid = f" (runner pid {summary['pid']})" if summary["state"] in ("running", "paused") else ""
    print(f"{summary['id']}  {summary['state']}{pid}")
    if summary.get("reason"):
        print(f"  reason: {summary['reason']}")
    budget = f"/{summary['budget']}" if summary.get("budget") else ""
    print(
        f"  trials {summary['trials']}{budget}: {c.get('complete', 0)} complete, "
        f"{c.get('running', 0)} running, {c.get('pruned', 0)} pruned, {c.get('fail', 0)} failed"
    )
    if summary["best_value"] is not None:
        print(
            f"  best {summary['metric']} {_fmt(summary['best_value'])} "
            f"(trial {summary['best_trial']}, {summary['direction']})"
        )
    for r in running:
        print(f"  running #{r['trial']} on {r['slot']}: epoch {r['epoch']}, {_fmt(r['current'])}")
    print(f"  path: {summary['path']}")
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from kttui.session import default_store, list_sessions, summarize

    if args.storage:
        return _studies(args.storage, args.json)
    store = default_store(args.sessions_dir)
    rows = [summarize(s) for s in list_sessions(store)]
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    if not rows:
        print(f"no sessions in {store}")
        return 0
    header = ("SESSION", "STATE", "TRIALS", "DONE", "RUN", "PRUNED", "FAIL", "BEST", "CREATED")
    table = [header]
    for r in rows:
        c = r["counts"]
        table.append(
            (
                r["id"],
                r["state"],
                str(r["trials"]),
                str(c.get("complete", 0)),
                str(c.get("running", 0)),
                str(c.get("pruned", 0)),
                str(c.get("fail", 0)),
                _fmt(r["best_value"]),
                str(r.get("created") or "")[:19].replace("T", " "),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _studies(url: str, as_json: bool) -> int:
    from kttui.remote import list_studies

    try:
        rows = list_studies(url)
    except Exception as exc:  # driver errors (bad URL, no server, wrong password)
        from kttui.session import redact_url

        return fail(f"cannot read {redact_url(url)}: {type(exc).__name__}: {redact_url(str(exc))}")
    if as_json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    if not rows:
        print("no studies in this storage")
        return 0
    header = ("STUDY", "DIRECTION", "TRIALS", "DONE", "RUN", "PRUNED", "FAIL", "BEST")
    table = [header] + [
        (
            r["study"],
            r["direction"],
            str(r["trials"]),
            str(r["complete"]),
            str(r["running"]),
            str(r["pruned"]),
            str(r["fail"]),
            _fmt(r["best"]),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print("(read-only; open one with: kttui attach --storage URL --study NAME)")
    return 0
