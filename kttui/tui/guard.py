"""Error boundaries: a pane that fails shows one line of error; the console lives on.

Users keep the console open for days; one chart that cannot draw an odd state
must not take the trial table, the log and the runner controls down with it.
A failing render or pane update is replaced by a one-line error in that pane,
its traceback goes to ``console.log`` in the session directory (or the store),
and the app keeps running. Only a failure while starting ends the app.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.dom import DOMNode
from textual.strip import Strip

LOG_NAME = "console.log"
ERROR_STYLE = Style(color="red", bold=True)

F = TypeVar("F", bound=Callable[..., Any])


def one_line(where: str, exc: BaseException) -> str:
    """The text a failed pane shows in place of its content."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"⚠ {where} failed: {type(exc).__name__}: {text} (see {LOG_NAME})"


def log_path(node: DOMNode) -> Path | None:
    """Where a node's failures are written: its session's directory, else the store."""
    try:
        screen = node.screen if node.is_attached else None
    except Exception:
        screen = None
    session = getattr(screen, "session", None)
    if session is not None:
        return Path(session.path) / LOG_NAME
    store = getattr(node.app, "store", None) if node.is_attached else None
    return Path(store) / LOG_NAME if store is not None else None


def record(node: DOMNode, where: str, exc: BaseException) -> str:
    """Write a traceback to the console log and count it on the app; return the one-liner.

    The same failure of the same node in a row is recorded once, not once per frame.
    """
    line = one_line(where, exc)
    if getattr(node, "_guard_last", None) == line:
        return line  # the same failure again (a pane re-draws often): logged once
    with contextlib.suppress(Exception):
        setattr(node, "_guard_last", line)  # noqa: B010
    try:
        errors = getattr(node.app, "errors", None)
        if isinstance(errors, list):
            errors.append(line)
    except Exception:  # not attached: nothing to count on
        pass
    path = log_path(node)
    if path is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        body = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"--- {stamp} {where}\n{body}")
        except OSError:
            pass
    return line


class SafeRender:
    """Mixin for pane widgets: a render that raises draws the error line instead.

    Put it first among the bases so it wraps the widget's own ``render`` and
    ``render_line``.
    """

    guard_name = "pane"

    def _guard_failed(self, exc: Exception) -> str:
        return record(self, self.guard_name, exc)  # type: ignore[arg-type]

    def render(self) -> Any:
        try:
            return super().render()  # type: ignore[misc]
        except Exception as exc:
            return Text(self._guard_failed(exc), style=ERROR_STYLE)

    def render_line(self, y: int) -> Strip:
        try:
            return super().render_line(y)  # type: ignore[misc]
        except Exception as exc:
            line = self._guard_failed(exc)
            width = max(1, self.size.width)  # type: ignore[attr-defined]
            if y:
                return Strip.blank(width)
            return Strip([Segment(line[:width], ERROR_STYLE)]).extend_cell_length(width)


def guarded(pane: str) -> Callable[[F], F]:
    """Wrap a screen's message handler or action: an exception marks ``pane`` failed.

    The screen must have ``pane_failed(pane, exc)``; the handler's own
    signature is kept (Textual reads it to decide what to pass).
    """

    def wrap(handler: F) -> F:
        @wraps(handler)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return handler(self, *args, **kwargs)
            except Exception as exc:
                self.pane_failed(pane, exc)
                return None

        return run  # type: ignore[return-value]

    return wrap
