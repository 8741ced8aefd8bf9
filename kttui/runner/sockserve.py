"""The control socket, served from threads of their own so `status` never waits for the loop.

The runner's loop can be held for a while (a burst of trial exits on a slow disk,
a worker thread holding the GIL), and a command answered by the loop waits for all
of it. Here a thread accepts connections and one short-lived thread per connection
reads the request:

- ``status`` is answered at once from the snapshot the loop publishes after each
  turn and after each command (``snapshot``), so it is as true as the loop's last step;
- every other command changes state: it is handed to the loop (``apply``), applied
  there in arrival order, and answered only once applied. The loop checks the
  client's deadline when it applies it, so a command the client gave up on is
  never carried out late, however long the loop or this thread was held.

Only the runner's own user may connect (SO_PEERCRED); others are hung up on unread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from kttui.sockpath import same_user

#: How long a client may take to send its request line.
READ_TIMEOUT_S = 10.0
#: A request line longer than this is refused (a command is a few hundred bytes).
MAX_REQUEST = 1 << 16
#: How long a command without a deadline waits for the loop.
NO_DEADLINE_WAIT_S = 60.0

Request = dict[str, Any]
Reply = dict[str, Any]


class CommandServer:
    def __init__(
        self,
        path: Path,
        loop: asyncio.AbstractEventLoop,
        *,
        snapshot: Callable[[], Reply],
        apply: Callable[[Request], Reply],
        refused: Callable[[], None],
    ) -> None:
        """``apply`` and ``refused`` run on ``loop``; ``snapshot`` on the serving threads."""
        self.path = path
        self._loop = loop
        self._snapshot = snapshot
        self._apply = apply
        self._refused = refused
        self._sock: socket.socket | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def start(self) -> None:
        """Listen on ``path`` (mode 0600) and start accepting."""
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
        self._thread = threading.Thread(target=self._accept, name="kttui-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop accepting (a command being applied still gets its answer) and remove the socket."""
        self._closed.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

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
        with conn:
            try:
                conn.settimeout(READ_TIMEOUT_S)
                line = _read_line(conn)
                if line is None:
                    return
                reply = self._answer(line)
                conn.sendall(json.dumps(reply, default=str).encode() + b"\n")
            except OSError:  # the client went away (or sent nothing in time)
                pass

    def _answer(self, line: bytes) -> Reply:
        try:
            req = json.loads(line)
        except ValueError as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        if not isinstance(req, dict):
            return {"ok": False, "error": "bad request: not a JSON object"}
        if req.get("cmd") == "status":
            return {"ok": True, **self._snapshot()}
        deadline = req.get("deadline")
        wait = NO_DEADLINE_WAIT_S
        if isinstance(deadline, int | float):
            # past its deadline the loop refuses it anyway; wait to hear that it did
            wait = max(0.0, deadline - time.time()) + 2.0
        future: Future[Reply] = Future()

        def on_loop() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self._apply(req))
            except Exception as exc:
                future.set_exception(exc)

        if not self._on_loop(on_loop):
            return {"ok": False, "error": "the runner is shutting down"}
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
