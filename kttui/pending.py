"""Session writes that wait in memory while the disk is full, and go out once it has room.

Events and trial status files are what every reader (``kttui status``, the console,
reports) sees. A write that fails for lack of space keeps its data here: the next
event appended to the same file carries the waiting ones, and the runner's disk
guard (kttui/diskfull.py) notices that something waits, pauses the runner, and
calls :func:`flush` once there is room. Any other error still raises.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_lines: dict[Path, list[str]] = {}  #: per events file, oldest first
_files: dict[Path, Any] = {}  #: per JSON file, the newest content

JsonWriter = Callable[[Path, Any], None]


def append_line(path: Path, line: str) -> None:
    """Append ``line`` (and any that wait for ``path``), or keep them for later on ENOSPC."""
    waiting = _lines.setdefault(path, [])
    waiting.append(line)
    try:
        _write_lines(path, waiting)
    except OSError as exc:
        if exc.errno not in FULL_ERRNOS:
            del waiting[-1]
            raise


def _write_lines(path: Path, waiting: list[str]) -> None:
    with open(path, "ab") as fh:
        if len(waiting) > 1 and fh.tell() > 0:
            fh.write(b"\n")  # a line the full disk cut short stays on a line of its own
        fh.write("".join(waiting).encode())
    waiting.clear()


def write_json(path: Path, data: Any, write: JsonWriter) -> None:
    """``write(path, data)``; on a full disk the data waits (and the error is raised)."""
    try:
        write(path, data)
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            _files[path] = data
        raise
    _files.pop(path, None)


def waiting() -> int:
    """How many files have writes waiting for disk space."""
    return len(_files) + sum(1 for lines in _lines.values() if lines)


def flush(write: JsonWriter) -> bool:
    """Write everything that waits; True when nothing is left."""
    for path, data in list(_files.items()):
        try:
            write(path, data)
        except FileNotFoundError:
            pass  # its folder is gone: nobody will read it
        except OSError:
            return False
        del _files[path]
    for path, lines in _lines.items():
        if lines:
            try:
                _write_lines(path, lines)
            except FileNotFoundError:
                lines.clear()
            except OSError:
                return False
    return True
