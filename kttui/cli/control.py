"""``kttui pause|resume-launch|stop|shutdown|kill``: commands over the control socket."""

from __future__ import annotations

import argparse

from kttui.cli import fail

_COMMAND = {"pause": "pause", "resume-launch": "resume", "stop": "stop", "shutdown": "shutdown"}


def cmd_control(args: argparse.Namespace) -> int:
    from kttui.control import ControlError, request
    from kttui.session import Session, SessionError, default_store

    try:
        session = Session.open(default_store(args.sessions_dir), args.session)
        reply = request(session, _COMMAND[args.action])
    except (SessionError, ControlError) as exc:
        return fail(str(exc))
    print(
        f"{session.id}: {reply['state']}" + (f" ({reply['reason']})" if reply.get("reason") else "")
    )
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    from kttui.control import ControlError, request
    from kttui.session import Session, SessionError, default_store

    try:
        session = Session.open(default_store(args.sessions_dir), args.session)
        request(session, "kill", trial=args.trial)
    except (SessionError, ControlError) as exc:
        return fail(str(exc))
    print(f"{session.id}: trial {args.trial} is being killed")
    return 0


def cmd_enqueue(args: argparse.Namespace) -> int:
    from kttui.control import ControlError, request
    from kttui.importers import parse_scalar
    from kttui.session import Session, SessionError, default_store

    params = {}
    for item in args.params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return fail(f"expected key=value, got {item!r}", code=2)
        params[key.strip()] = parse_scalar(value)
    try:
        session = Session.open(default_store(args.sessions_dir), args.session)
        reply = request(session, "enqueue", params=params)
    except (SessionError, ControlError) as exc:
        return fail(str(exc))
    shown = ", ".join(f"{k}={v}" for k, v in reply["params"].items())
    print(f"{session.id}: queued {shown}")
    if reply.get("filled_from_best"):
        print(f"  (from the best trial so far: {', '.join(reply['filled_from_best'])})")
    return 0
