"""The runner's workers: Optuna calls and model fitting, off the event loop.

A sampler's ask, a pruner's judgement, a tell and the regret rule's Gaussian
process take from milliseconds to tens of seconds as a study grows; on the
loop they would delay child exits, timeouts and every socket command. They run
on a worker instead: the study's calls on one thread, in the order they were
posted, so the study sees the same sequence of writes as before and the
proposer is only ever touched from that thread; model fits on another, so a
long fit never holds up a launch. A result comes back to the loop through ``then`` (called on
the loop); an exception is kept and re-raised on the loop by :meth:`check`, so
a failing write still stops the runner with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: How long a call that hit a passing condition (a full disk) waits before it is tried again.
RETRY_S = 1.0


class Worker:
    def __init__(
        self,
        wake: Callable[[], None],
        name: str,
        *,
        retry_if: Callable[[BaseException], bool] | None = None,
        on_retry: Callable[[BaseException], object] | None = None,
    ) -> None:
        """``retry_if``: errors that pass by themselves (a full disk): the call waits and is
        tried again, in order, so no write is lost; ``on_retry`` is told each, on the loop."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._wake = wake
        self._retry_if = retry_if
        self._on_retry = on_retry
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._pending = 0
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def busy(self) -> bool:
        """Work posted and not finished (the loop waits for it before it ends)."""
        with self._lock:
            return self._pending > 0

    def post(
        self, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None] | None = None
    ) -> Future[Any]:
        with self._lock:
            self._pending += 1
        future = self._pool.submit(self._patient, fn, *args)
        future.add_done_callback(lambda f: self._done(f, then))
        return future

    def _patient(self, fn: Callable[..., Any], *args: Any) -> Any:
        while True:
            try:
                return fn(*args)
            except Exception as exc:
                if self._retry_if is None or not self._retry_if(exc) or self._closing.is_set():
                    raise
                loop, told = self._loop, self._on_retry
                if told is not None and loop is not None and not loop.is_closed():
                    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                        loop.call_soon_threadsafe(told, exc)
                self._closing.wait(RETRY_S)

    def _done(self, future: Future[Any], then: Callable[[Any], None] | None) -> None:
        def deliver() -> None:
            with self._lock:
                self._pending -= 1
            exc = future.exception()
            if exc is not None:
                self._error = self._error or exc
            elif then is not None:
                then(future.result())
            self._wake()

        loop = self._loop
        if loop is None or loop.is_closed():
            deliver()
            return
        try:
            loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # the loop closed meanwhile
            deliver()

    def check(self) -> None:
        """Raise, on the loop, what a posted call raised."""
        if self._error is not None:
            exc, self._error = self._error, None
            raise exc

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run in order with posted work and wait (set-up and shut-down only)."""
        return self._pool.submit(fn, *args).result()

    def close(self, wait: bool = True) -> None:
        self._closing.set()  # a call waiting for the disk gives up: shutdown never waits
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
