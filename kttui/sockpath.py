"""Where the runner's control socket lives, and who may talk to it.

The socket normally sits in the session directory (0700). When that path is too
long for a unix socket it goes to a per-user directory under ``$XDG_RUNTIME_DIR``
or ``$TMPDIR``; a shared temp directory lets another user create that folder
first and receive our commands, so the folder must be ours, a real directory and
0700, or the runner refuses to start. Both ends also check the other's uid on
every connection (SO_PEERCRED), so a socket that is reachable by mistake still
obeys only its owner.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import struct
import tempfile
from pathlib import Path
from typing import Any

#: unix socket paths are limited to 108 bytes; leave room for the file name
MAX_SOCKET_PATH = 100


class SocketPathError(Exception):
    """The control socket's folder is not private to this user; the message says why."""


def private_dir() -> Path:
    """The per-user folder for sockets whose session path is too long."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"kttui-{os.getuid()}"


def socket_path(session_dir: Path) -> Path:
    """The socket of a session: in it when the path fits, else in :func:`private_dir`."""
    path = session_dir / "control.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(session_dir).encode()).hexdigest()[:16]
    return private_dir() / f"{digest}.sock"


def dir_problem(path: Path) -> str | None:
    """Why ``path`` is not a folder only this user can use, or None when it is."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"cannot inspect it: {exc.strerror}"
    uid = os.getuid()
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if st.st_uid != uid:
        return f"it belongs to uid {st.st_uid}, not to you (uid {uid})"
    if st.st_mode & 0o077:
        return f"its mode is {stat.S_IMODE(st.st_mode):04o}; it must be 0700"
    return None


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` 0700, or accept an existing one only if it is ours and private."""
    try:
        os.mkdir(path, 0o700)
        os.chmod(path, 0o700)  # the umask may have taken bits away; never added any
    except FileExistsError:
        pass
    except OSError as exc:
        raise SocketPathError(
            f"cannot create {path} for the control socket: {exc.strerror}"
        ) from None
    problem = dir_problem(path)
    if problem is not None:
        raise SocketPathError(
            f"refusing to put the control socket in {path}: {problem}; remove it, or point "
            "$XDG_RUNTIME_DIR or $TMPDIR at a private directory"
        )


def prepare(sock: Path, session_dir: Path) -> None:
    """Make sure the socket's folder is private before the runner listens there."""
    if sock.parent != session_dir:
        ensure_private_dir(sock.parent)


def peer_uid(sock: Any) -> int | None:
    """The uid of the process at the other end of a connected unix socket (Linux)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or sock is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def same_user(sock: Any) -> bool:
    """True when the peer runs as this user (an unknown peer is refused)."""
    return peer_uid(sock) == os.getuid()
