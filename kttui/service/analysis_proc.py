"""The advice pane's analysis, in a process of its own.

The report's analysis of a big sweep is long stretches of Python and numpy
(tens of seconds of CPU at 10 000 trials) that hold the GIL: on a thread of
the console it starves the event loop, and every key and epoch waits behind
it. In a child process it cannot. The child is started on the first call
(a fresh ``python -m kttui.service.analysis_proc``: it inherits no lock or
thread of the console, and not multiprocessing's spawn, whose resource
tracker needs a real stderr, which the console has replaced), kept for the
next ones, and runs the loop of :func:`kttui.regretfit._serve` over a socket
pair (one call at a time; the caller's thread waits on the socket, which
releases the GIL). Its output goes nowhere: never onto the console's screen. It
sends back only what the console reads: the Markdown and the analysis parts
the charts draw (:class:`ChartAnalysis`), never the whole report's objects.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

#: How often a waiting caller checks whether the process was closed (seconds).
WAIT_SLICE_S = 0.25


@dataclass(frozen=True)
class ChartAnalysis:
    """What the console's charts read of the report's analysis (importance, pair view)."""

    table: Any  # kttui.analysis.table.TrialFrame
    importance: Any  # kttui.analysis.importance.ImportanceAnalysis


def analyze_session(path: Path) -> tuple[str, ChartAnalysis]:
    """(In the child) the report's recommendations of a session and what the charts read."""
    from kttui.analysis.load import load_session, session_spec
    from kttui.report import recommendations_analysis, render_recommendations
    from kttui.session import Session

    session = Session(path)
    table, spec = load_session(session), session_spec(session)
    analysis = recommendations_analysis(table, spec=spec)
    text = render_recommendations(table, spec=spec, analysis=analysis)
    return text, ChartAnalysis(analysis.table, analysis.importance)


def _in_dir(cwd: str, fn: Callable[..., Any], *args: Any) -> Any:
    """(In the child) ``fn(*args)`` from the caller's working directory (relative paths)."""
    os.chdir(cwd)
    return fn(*args)


class AnalysisError(RuntimeError):
    """The call raised in the child, or the child ended (or was closed) before answering."""


class AnalysisProcess:
    """Blocking calls into one child process, for worker threads; one call at a time."""

    def __init__(self, name: str = "kttui-analysis") -> None:
        self._name = name
        self._lock = threading.Lock()  # one call at a time
        self._guard = threading.Lock()  # the process and pipe fields
        self._proc: Any = None
        self._conn: Connection | None = None
        self._closed = threading.Event()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def _start(self) -> Connection:
        mine, theirs = socket.socketpair()
        with theirs:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kttui.service.analysis_proc", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a ctrl+c meant for the console is not its
            )
        conn = Connection(mine.detach())
        with self._guard:
            self._proc, self._conn = proc, conn
        return conn

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Any:
        """``fn(*args)`` in the child (a module-level function, picklable arguments).

        Raises :class:`AnalysisError` when it raised there, when the child died,
        or when :meth:`close` or ``cancelled`` ended the wait (the child is then
        stopped: its answer is no longer wanted).
        """
        with self._lock:
            self._closed.clear()
            conn = self._conn or self._start()
            try:
                conn.send((_in_dir, (os.getcwd(), fn, *args)))
                while not conn.poll(WAIT_SLICE_S):
                    if self._closed.is_set() or cancelled():
                        self.close()
                        raise AnalysisError("the analysis was cancelled")
                status, value = conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self.close()
                raise AnalysisError(f"the analysis process ended ({exc or 'no answer'})") from None
            if status == "error":
                raise AnalysisError(str(value))
            return value

    def close(self) -> None:
        """Stop the child now (a call in flight ends with :class:`AnalysisError`)."""
        self._closed.set()
        with self._guard:
            proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if conn is not None:
            conn.close()
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    @property
    def busy(self) -> bool:
        return self._lock.locked()


#: The console's one analysis process (started on first use).
ANALYSIS = AnalysisProcess()


if __name__ == "__main__":  # the child: serve calls on the socket it was given
    from kttui.regretfit import _serve

    _serve(Connection(int(sys.argv[1])))
