"""The control socket's front door: a small child process that answers ``status`` itself.

Threads of the runner answer slowly while its loop and worker threads run Python
(Optuna asks and tells, TPE over hundreds of trials): every step of an answer
(accept, read, reply) waits for the GIL, and a 500-trial sweep kept ``status``
p99 at 75 ms. This process holds no Python object of the runner and does nothing
else, so its answer waits for nothing but the OS. It runs as a bare script
(``python -I -S statusd.py LISTEN_FD CHANNEL_FD``) and imports the standard
library and :mod:`kttui.sockpath` only.

- The runner listens on the socket and hands the listening descriptor over.
- ``CHANNEL_FD`` is one end of a ``SOCK_SEQPACKET`` pair. The runner sends each new
  ``status`` reply on it, already serialised; it is drained before every answer, so
  a reply is never older than what the runner had published when the client
  connected (a command's own reply is sent after its new status).
- Every other request goes back to the runner on the channel, with the client's
  connection attached (SCM_RIGHTS): the runner applies it on its loop, in arrival
  order, and replies itself. A connection from another user is closed unread and
  reported (``REFUSED``).
- The child ends when the channel closes: the runner stopped, or was killed.
"""

from __future__ import annotations

import array
import collections
import contextlib
import json
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

#: A request line longer than this is refused (a command is a few hundred bytes).
MAX_REQUEST = 1 << 16
#: How long a client may take to send its request line.
READ_TIMEOUT_S = 10.0
#: The message telling the runner that a connection from another user was refused.
REFUSED = b"\0refused"
#: The largest message on the channel (a status reply; the kernel's buffer bounds it).
MAX_MESSAGE = 1 << 20


def parse_request(line: bytes) -> dict[str, object] | str:
    """The request as a dict, or why it is not one (the ``bad request`` error)."""
    try:
        req = json.loads(line)
    except ValueError as exc:
        return f"bad request: {exc}"
    if not isinstance(req, dict):
        return "bad request: not a JSON object"
    return req


def error_reply(message: str) -> bytes:
    return json.dumps({"ok": False, "error": message}).encode() + b"\n"


class Front:
    """The select loop: the channel first, then new connections, then their request lines."""

    def __init__(
        self,
        listen: socket.socket,
        channel: socket.socket,
        same_user: Callable[[socket.socket], bool],
    ) -> None:
        self.listen, self.channel, self.same_user = listen, channel, same_user
        self.status = error_reply("the runner is starting")
        self.pending: dict[socket.socket, tuple[bytes, float]] = {}
        self.times: collections.deque[float] = collections.deque(maxlen=100_000)
        self.sel = selectors.DefaultSelector()
        self.sel.register(channel, selectors.EVENT_READ)
        self.sel.register(listen, selectors.EVENT_READ)

    def run(self) -> None:
        while True:
            timeout = None
            if self.pending:
                timeout = max(0.0, min(d for _, d in self.pending.values()) - time.monotonic())
            ready = self.sel.select(timeout)
            if not self.drain():
                return
            for key, _ in ready:
                if key.fileobj is self.listen:
                    self.accept()
                elif key.fileobj in self.pending:
                    self.read(key.fileobj)
            now = time.monotonic()
            for conn, (_, deadline) in list(self.pending.items()):
                if now >= deadline:  # sent nothing complete in time
                    self.drop(conn)

    def drain(self) -> bool:
        """Take the latest status the runner sent; False once the runner is gone."""
        while True:
            try:
                message = self.channel.recv(MAX_MESSAGE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not message:
                return False
            self.status = message

    def accept(self) -> None:
        try:
            conn, _ = self.listen.accept()
        except OSError:
            return
        if not self.same_user(conn):
            conn.close()
            self.send_up(REFUSED)
            return
        conn.setblocking(False)
        self.pending[conn] = (b"", time.monotonic() + READ_TIMEOUT_S)
        self.sel.register(conn, selectors.EVENT_READ)
        self.read(conn)  # the request usually came with the connection

    def read(self, conn: socket.socket) -> None:
        data, deadline = self.pending[conn]
        try:
            chunk = conn.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        data += chunk
        if chunk and b"\n" not in data:
            if len(data) > MAX_REQUEST:
                self.drop(conn)
            else:
                self.pending[conn] = (data, deadline)
            return
        line = data.split(b"\n", 1)[0]
        self.drop(conn, close=False)
        if not line or len(line) > MAX_REQUEST:
            conn.close()
            return
        self.answer(conn, line, deadline - READ_TIMEOUT_S)

    def answer(self, conn: socket.socket, line: bytes, accepted: float) -> None:
        req = parse_request(line)
        with conn:
            if isinstance(req, dict) and req.get("cmd") != "status":
                if not self.send_up(line, conn):
                    self.reply(conn, error_reply("the runner is busy; try again"))
                return
            self.drain()  # whatever the runner published before this client connected
            self.reply(conn, self.status if isinstance(req, dict) else error_reply(req))
        self.times.append(time.monotonic() - accepted)

    def reply(self, conn: socket.socket, data: bytes) -> None:
        with contextlib.suppress(OSError):
            conn.settimeout(1.0)
            conn.sendall(data)

    def send_up(self, message: bytes, conn: socket.socket | None = None) -> bool:
        """Hand a message (and a connection) to the runner; False when its queue is full."""
        fds = []
        if conn is not None:
            fds = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [conn.fileno()]))]
        try:
            self.channel.sendmsg([message], fds, socket.MSG_DONTWAIT)
        except OSError:
            return False
        return True

    def drop(self, conn: socket.socket, close: bool = True) -> None:
        self.pending.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(conn)
        if close:
            conn.close()


def summary(times: collections.deque[float]) -> str:
    """One line: the answer times (connection accepted -> reply sent) and this child's CPU."""
    ordered = sorted(times)
    cpu = time.process_time()
    if not ordered:
        return f"kttui: status child: 0 answers; CPU {cpu:.2f} s"
    p50, p99 = (ordered[min(len(ordered) - 1, int(len(ordered) * q))] for q in (0.5, 0.99))
    return (
        f"kttui: status child: {len(ordered)} answers, p50 {p50 * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms, max {ordered[-1] * 1000:.2f} ms; CPU {cpu:.2f} s"
    )


def main(argv: list[str]) -> int:
    # the runner decides when we end (a Ctrl-C of a foreground run reaches it, not us)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run by path, without site
    from kttui.sockpath import same_user

    listen = socket.socket(fileno=int(argv[0]))
    channel = socket.socket(fileno=int(argv[1]))
    listen.setblocking(False)
    front = Front(listen, channel, same_user)
    front.run()
    print(summary(front.times), file=sys.stderr)  # into runner.log (bench/chaos.py reads it)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
