"""Work the console puts off until its first frame is on the terminal.

Reading ten thousand status files in a thread, or importing the advice pane's
Markdown renderer, does not change what the first frame shows, yet done before
it they delayed it (a thread shares the GIL with the UI thread). Textual's
``call_after_refresh`` is too early for this: at start-up its callbacks run
before the first frame is written, and even the app's ``Ready`` event can come
before it (the first layout may be done before the terminal takes output); the
app runs these after the refresh that follows ``Ready``.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode


class FirstFrame:
    """An app's first frame: drawn yet, and what waits for it."""

    def __init__(self) -> None:
        self.shown = False
        self._waiting: list[Callable[[], object]] = []

    def drawn(self) -> None:
        """The app's Ready event: run what waited."""
        self.shown = True
        waiting, self._waiting = self._waiting, []
        for callback in waiting:
            callback()

    def add(self, callback: Callable[[], object]) -> None:
        self._waiting.append(callback)


def after_first_frame(node: DOMNode, callback: Callable[[], object]) -> None:
    """Run ``callback`` (on ``node``'s loop) once the app's first frame is drawn; at once
    when it was, or when the app does not track it (an app in a test)."""
    first: FirstFrame | None = getattr(node.app, "first_frame", None)

    def run() -> None:
        if node.is_attached:  # closed before the first frame: nothing to start
            callback()

    if first is None or first.shown:
        node.call_later(run)
    else:
        first.add(lambda: node.call_later(run))
