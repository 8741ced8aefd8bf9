"""The regret rule's model fit, in a process of its own.

The Gaussian-process fit grows with the trials (seconds at a few hundred) and
spends long stretches in native code that holds the GIL; on a thread of the
runner it still stalls the loop, so socket commands, child exits and pruning
wait for it. In a child process it cannot. The child is started on the first
fit (a sweep without the rule never pays for it), with ``spawn`` so it
inherits no lock or thread of the runner, and it exits by itself when the
runner goes away (its end of the pipe closes). Results come back on the loop,
as the offloop Worker's do: the loop watches the pipe, so no thread is involved.
Calls run one at a time, in order; the runner posts one fit at a time and, when
it finishes, fits only the newest results (those that arrived meanwhile are
superseded, never queued).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from kttui.space import SearchSpace

#: Test hook: the fit first holds the GIL this many seconds (as a long native call does).
STALL_ENV = "KTTUI_TEST_FIT_STALL_S"
#: Test hook: a file the fit appends "PID TIME" to when it starts stalling.
MARK_ENV = "KTTUI_TEST_FIT_MARK"

Then = Callable[[Any], None]


def fit_regret(
    space: SearchSpace,
    configs: Sequence[dict[str, Any]],
    values: Sequence[float],
    maximize: bool,
    seed: int,
) -> float:
    """(In the fit process) the regret rule's bound; see kttui.stopping.regret_bound."""
    stall = os.environ.get(STALL_ENV)
    if stall:
        _stall(float(stall))
    from kttui.stopping import regret_bound

    return regret_bound(space, configs, values, maximize=maximize, seed=seed)


def _stall(seconds: float) -> None:
    import ctypes
    import time

    mark = os.environ.get(MARK_ENV)
    if mark:
        with open(mark, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {time.time()}\n")
    # a PyDLL call keeps the GIL for its whole length: in the runner's process this
    # would freeze every thread, the loop's included
    ctypes.PyDLL(None).usleep(int(seconds * 1_000_000))


def _serve(conn: Connection) -> None:
    """The child's loop: run each call it is sent, send back ("ok", result) or ("error", text)."""
    while True:
        try:
            call = conn.recv()
        except (EOFError, OSError):
            return  # the runner is gone
        if call is None:
            return
        fn, args = call
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class FitProcess:
    """Model fits in one child process; the same post/check/close as kttui.offloop.Worker.

    ``fn`` must be a module-level function and its arguments picklable.
    """

    def __init__(self, wake: Callable[[], None], name: str = "kttui-fit") -> None:
        self._wake = wake
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proc: Any = None  # a multiprocessing SpawnProcess, started on the first post
        self._conn: Connection | None = None
        self._queue: deque[tuple[Callable[..., Any], tuple[Any, ...], Then | None]] = deque()
        self._waiting = False  # a call was sent and its reply has not come
        self._then: Then | None = None
        self._error: BaseException | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def busy(self) -> bool:
        return self._waiting or bool(self._queue)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def post(self, fn: Callable[..., Any], *args: Any, then: Then | None = None) -> None:
        self._queue.append((fn, args, then))
        self._send_next()

    def _start(self) -> Connection:
        assert self._loop is not None, "bind() the loop first"
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(theirs,), name=self._name, daemon=True)
        proc.start()
        theirs.close()
        self._proc, self._conn = proc, mine
        self._loop.add_reader(mine.fileno(), self._readable)
        return mine

    def _send_next(self) -> None:
        if self._waiting or not self._queue or self._error is not None:
            return
        fn, args, then = self._queue.popleft()
        conn = self._conn or self._start()
        try:
            conn.send((fn, args))
        except (BrokenPipeError, OSError) as exc:
            self._fail(f"cannot reach it: {exc}")
            return
        self._waiting, self._then = True, then

    def _readable(self) -> None:
        assert self._conn is not None
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            code = self._proc.exitcode if self._proc is not None else None
            self._fail(f"it ended (exit code {code})")
            return
        then, self._waiting, self._then = self._then, False, None
        if status == "error":
            self._error = self._error or RuntimeError(f"model fit failed: {value}")
        elif then is not None:
            then(value)
        self._send_next()
        self._wake()

    def _fail(self, why: str) -> None:
        self._error = self._error or RuntimeError(f"the model-fit process failed: {why}")
        self._waiting, self._then = False, None
        self._queue.clear()
        self._stop_reading()
        self._wake()

    def _stop_reading(self) -> None:
        if self._conn is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._conn.fileno())

    def check(self) -> None:
        """Raise, on the loop, what a posted call raised (or the process's death)."""
        if self._error is not None:
            exc, self._error = self._error, None
            raise exc

    def close(self, wait: bool = False) -> None:
        """End the child at once: a fit in flight is no longer wanted (``wait`` is ignored)."""
        self._queue.clear()
        self._stop_reading()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            # (the sentinel, not is_alive: the local backend may have reaped the child)
            if not multiprocessing.connection.wait([self._proc.sentinel], 0):
                self._proc.kill()
            self._proc.join(5)
            self._proc = None
