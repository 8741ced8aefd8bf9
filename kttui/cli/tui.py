"""``kttui`` (no command) and ``kttui attach [SESSION]``: the interactive console."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kttui.cli import fail

if TYPE_CHECKING:
    from kttui.session import Session

#: Set to 1 to let the console take the mouse (click to select, wheel to scroll).
MOUSE_ENV = "KTTUI_MOUSE"


def _run(store: Path, attach: Path | None) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return fail("the console needs a terminal (see `kttui --help` for the commands)")
    from kttui.tui.app import KttuiApp

    app = KttuiApp(store, attach, launch_dir=Path.cwd())
    app.run(mouse=mouse_enabled())
    return app.return_code or 0


def mouse_enabled() -> bool:
    """Mouse reporting is off unless asked for: with it on, SSH terminals cannot select text."""
    return os.environ.get(MOUSE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def open_dashboard(session: Session) -> int:
    """Open the console on a session's dashboard (its store's sessions beneath it)."""
    return _run(session.path.parent, session.path)


def cmd_tui(args: argparse.Namespace) -> int:
    from kttui.session import default_store

    return _run(default_store(getattr(args, "sessions_dir", None)), None)


def cmd_attach(args: argparse.Namespace) -> int:
    from kttui.service import ServiceError
    from kttui.service.sessions import open_session
    from kttui.session import default_store

    if getattr(args, "storage", None):
        from kttui.importers import ImportError_
        from kttui.remote import snapshot

        try:
            remote = snapshot(args.storage, args.study)
        except ImportError_ as exc:
            return fail(str(exc))
        return _run(remote.path.parent, remote.path)
    store = default_store(args.sessions_dir)
    try:
        session = open_session(store, args.session)
    except ServiceError as exc:
        return fail(str(exc))
    return _run(store, session.path)
