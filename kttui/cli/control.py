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
