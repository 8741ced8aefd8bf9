"""The control socket, answered without waiting for the runner's loop or its GIL.

The runner's loop can be held for a while (a burst of trial exits on a slow disk,
a worker thread holding the GIL), and a command answered by the loop waits for all
of it. So:

- ``status`` is answered by a small child process (:mod:`kttui.runner.statusd`)
  from the reply the loop publishes, already serialised, after each turn and after
  each command (``publish``): it is as true as the loop's last step, and its answer
  never waits for this process's GIL (threads of the runner waited for it behind
  Optuna's asks and tells: p99 75 ms over a 500-trial sweep);
- every other command changes state: the child hands the connection back, and it
  is handed to the loop (``apply``), applied there in arrival order, and answered
  only once applied. The loop checks the client's deadline when it applies it, so
  a command the client gave up on is never carried out late, however long the loop
  or this process was held.

A child that dies is started again; when none can run (three quick deaths), threads
of the runner serve the socket themselves, as before the child existed.
Only the runner's own user may connect (SO_PEERCRED); others are hung up on unread.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import errno
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from kttui.runner import statusd
from kttui.runner.statusd import MAX_REQUEST, READ_TIMEOUT_S, REFUSED, error_reply, parse_request
from kttui.sockpath import same_user

#: How long a command without a deadline waits for the loop.
NO_DEADLINE_WAIT_S = 60.0
#: A status child that lives less than this died young; after ``QUICK_DEATHS`` in a
#: row the runner serves the socket itself.
YOUNG_S = 5.0
QUICK_DEATHS = 3

Request = dict[str, Any]
Reply = dict[str, Any]


class CommandServer:
    def __init__(
        self,
        path: Path,
        loop: asyncio.AbstractEventLoop,
        *,
        apply: Callable[[Request], Reply],
        refused: Callable[[], None],
    ) -> None:
        """``apply`` and ``refused`` run on ``loop``."""
        self.path = path
        self._loop = loop
        self._apply = apply
        self._refused = refused
        self._sock: socket.socket | None = None
        self._status = error_reply("the runner is starting")  # the reply to `status`
        self._lock = threading.Lock()  # the status and the channel it goes to, together
        self._channel: socket.socket | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def child_pid(self) -> int | None:
        """The status child's pid (None while the runner serves the socket itself)."""
        child = self._child
        return child.pid if child is not None else None

    def start(self) -> None:
        """Listen on ``path`` (mode 0600) and start answering."""
        with contextlib.suppress(OSError):
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        except OSError:
            sock.close()
            raise
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        sock.listen(64)
        self._sock = sock
        try:
            self._spawn()
            target = self._front
        except OSError as exc:
            print(f"kttui: warning: no status child ({exc}); serving the socket", file=sys.stderr)
            target = self._accept
        self._thread = threading.Thread(target=target, name="kttui-control", daemon=True)
        self._thread.start()

    def publish(self, status: Reply) -> None:
        """(On the loop) what ``status`` answers from now on."""
        data = json.dumps({"ok": True, **status}, default=str).encode() + b"\n"
        with self._lock:
            if data != self._status:
                self._status = data
                self._push()

    def close(self) -> None:
        """Stop answering (a command being applied still gets its answer) and remove the socket."""
        self._closed.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        with self._lock:
            if self._channel is not None:  # the child sees the end of its channel and exits
                with contextlib.suppress(OSError):
                    self._channel.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)
        child = self._child
        if child is not None:
            try:
                child.wait(2)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- the status child --------------------------------------------------------
    def _spawn(self) -> None:
        """Start a status child on the listening socket, with the current status."""
        assert self._sock is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            fds = (self._sock.fileno(), theirs.fileno())
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", statusd.__file__, *map(str, fds)],
                stdin=subprocess.DEVNULL,
                pass_fds=fds,
                close_fds=True,
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        with self._lock:
            old, self._channel = self._channel, ours
            self._push()
        if old is not None:
            old.close()

    def _push(self) -> None:
        """(Under the lock) send the status to the child, which answers with the latest."""
        if self._channel is None:
            return
        try:
            self._channel.send(self._status, socket.MSG_DONTWAIT)
        except BlockingIOError:  # the child reads nothing: replaced by a new one
            if self._child is not None:
                self._child.kill()
        except OSError as exc:  # EMSGSIZE; any other error: the child is gone (restarted)
            if exc.errno == errno.EMSGSIZE:
                size = len(self._status)
                self._status = error_reply(f"the status ({size} bytes) is too large to pass on")
                with contextlib.suppress(OSError):
                    self._channel.send(self._status, socket.MSG_DONTWAIT)

    def _front(self) -> None:
        """Take the commands the child hands back; start a new child when it dies."""
        deaths = 0
        while not self._closed.is_set():
            born = time.monotonic()
            assert self._channel is not None and self._child is not None
            self._receive(self._channel)
            self._child.wait()
            if self._closed.is_set():
                return
            deaths = deaths + 1 if time.monotonic() - born < YOUNG_S else 1
            try:
                if deaths >= QUICK_DEATHS:
                    raise OSError(f"it died {deaths} times in a row")
                self._spawn()
            except OSError as exc:
                print(f"kttui: warning: status child: {exc}; serving the socket", file=sys.stderr)
                with self._lock:
                    self._child = None
                self._accept()
                return

    def _receive(self, channel: socket.socket) -> None:
        """Until the channel ends: commands (with their connection) and refusals, in order."""
        while True:
            try:
                line, ancillary, _, _ = channel.recvmsg(MAX_REQUEST + 1, socket.CMSG_SPACE(16))
            except OSError:
                return
            if not line:
                return
            fds = array.array("i")
            for level, kind, data in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            conns = [socket.socket(fileno=fd) for fd in fds]
            for extra in conns[1:]:
                extra.close()
            if line == REFUSED or not conns:
                self._on_loop(self._refused)
                continue
            req = parse_request(line)
            if isinstance(req, str):  # the child checked it; never trust it blindly
                self._reply(conns[0], {"ok": False, "error": req})
                continue
            future = self._submit(req)  # here, so the loop gets commands in arrival order
            threading.Thread(target=self._finish, args=(conns[0], req, future), daemon=True).start()

    # -- serving from this process (when no child can run) ---------------------------
    def _accept(self) -> None:
        assert self._sock is not None
        while not self._closed.is_set():
            ready, _, _ = select.select([self._sock.fileno(), self._wake_r], [], [])
            if self._closed.is_set():
                return
            if self._sock.fileno() not in ready:
                continue
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            if not same_user(conn):  # only our own user commands us
                conn.close()
                self._on_loop(self._refused)
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(READ_TIMEOUT_S)
            line = _read_line(conn)
        except OSError:  # the client went away (or sent nothing in time)
            line = None
        if line is None:
            conn.close()
            return
        req = parse_request(line)
        if isinstance(req, str):
            self._reply(conn, {"ok": False, "error": req})
        elif req.get("cmd") == "status":
            with conn, contextlib.suppress(OSError):
                conn.sendall(self._status)
        else:
            self._finish(conn, req, self._submit(req))

    # -- commands, applied by the loop ---------------------------------------------------
    def _submit(self, req: Request) -> Future[Reply] | None:
        """Hand a command to the loop; None when the loop has closed."""
        future: Future[Reply] = Future()

        def on_loop() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self._apply(req))
            except Exception as exc:
                future.set_exception(exc)

        return future if self._on_loop(on_loop) else None

    def _finish(self, conn: socket.socket, req: Request, future: Future[Reply] | None) -> None:
        self._reply(conn, self._wait(req, future))

    def _wait(self, req: Request, future: Future[Reply] | None) -> Reply:
        if future is None:
            return {"ok": False, "error": "the runner is shutting down"}
        deadline = req.get("deadline")
        wait = NO_DEADLINE_WAIT_S
        if isinstance(deadline, int | float):
            # past its deadline the loop refuses it anyway; wait to hear that it did
            wait = max(0.0, deadline - time.time()) + 2.0
        try:
            try:
                return future.result(timeout=wait)
            except TimeoutError:
                # with a deadline the loop refuses it once it gets to it (and says so);
                # without one it is withdrawn, unless it is being applied right now
                if isinstance(deadline, int | float) or future.cancel():
                    return {"ok": False, "error": "the runner did not answer in time"}
                return future.result()
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        except Exception as exc:  # the command failed on the loop: say so, never hang up
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    @staticmethod
    def _reply(conn: socket.socket, reply: Reply) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(READ_TIMEOUT_S)
            conn.sendall(json.dumps(reply, default=str).encode() + b"\n")

    def _on_loop(self, fn: Callable[[], None]) -> bool:
        try:
            self._loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop has closed
            return False
        return True


def _read_line(conn: socket.socket) -> bytes | None:
    """The request line, or None when the client sent no complete line."""
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data or None
        data += chunk
        if len(data) > MAX_REQUEST:
            return None
    return data.split(b"\n", 1)[0]
