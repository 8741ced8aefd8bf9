"""The runner's control socket: one JSON request line in, one JSON response line out.

The socket lives in the session directory (mode 0600) unless that path is too
long for a unix socket (108 bytes), in which case it goes to a private
per-user directory (kttui/sockpath.py keeps it private) and runner.json
records where.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from kttui.session import Session
from kttui.sockpath import same_user, socket_path

COMMANDS = ("status", "pause", "resume", "stop", "kill", "shutdown", "enqueue")


class ControlError(Exception):
    """The runner could not be reached or refused a command."""


def socket_path_for(session: Session) -> Path:
    return socket_path(session.path)


def request(session: Session, command: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
    """Send one command to the session's runner and return its reply."""
    info = session.runner() or {}
    sock_path = info.get("socket")
    state = session.state()
    if not sock_path or state not in ("starting", "running", "paused", "stopping"):
        raise ControlError(
            f"the runner of {session.id} is not running (state: {state}); "
            f"`kttui resume {session.id}` restarts it"
        )
    # The runner drops a request it reads after the deadline: a command reported
    # here as failed (timed out) is never carried out later.
    deadline = time.time() + timeout
    payload = json.dumps({"cmd": command, "deadline": deadline, **args}).encode() + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(sock_path)
            if not same_user(sock):  # never hand a command to another user's listener
                raise ControlError(f"{sock_path} is served by another user; not sending")
            sock.sendall(payload)
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (OSError, TimeoutError) as exc:
        raise ControlError(f"cannot reach the runner of {session.id}: {exc}") from None
    try:
        reply = json.loads(data)
    except ValueError:
        raise ControlError(f"the runner of {session.id} sent an unreadable reply") from None
    if not isinstance(reply, dict):
        raise ControlError(f"the runner of {session.id} sent an unreadable reply")
    if not reply.get("ok", False):
        raise ControlError(str(reply.get("error", "command refused")))
    return reply
