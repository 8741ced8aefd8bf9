"""The runner's control socket: one JSON request line in, one JSON response line out.

The socket lives in the session directory (mode 0600) unless that path is too
long for a unix socket (108 bytes), in which case it goes to a private
per-user directory and runner.json records where.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from kttui.session import Session

COMMANDS = ("status", "pause", "resume", "stop", "kill", "shutdown", "enqueue")
_MAX_SOCKET_PATH = 100


class ControlError(Exception):
    """The runner could not be reached or refused a command."""


def socket_path_for(session: Session) -> Path:
    path = session.path / "control.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    runtime = (
        Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"kttui-{os.getuid()}"
    )
    runtime.mkdir(mode=0o700, exist_ok=True)
    digest = hashlib.sha1(str(session.path).encode()).hexdigest()[:16]
    return runtime / f"{digest}.sock"


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
