"""Replace a file whole: readers see the old content or the new, never half of either.

Session files (runner.json, status.json, session.json), a saved spec, a report,
checkpoints and datasets are read while they are rewritten (the console polls,
a restarted runner reattaches, a crash can come at any byte). Each is written
to a temporary file in the same directory (so ``os.replace`` is a rename on one
filesystem, atomic), flushed to disk with ``fsync`` (so a crash after the rename
cannot leave an empty file behind the new name), then renamed over the target.
A write that fails for any reason (a full disk, a kill signal turned into an
exception) removes its temporary file and re-raises the original error, so
callers such as the disk-full guard (kttui/diskfull.py, kttui/pending.py) see
the ``OSError`` they expect and nothing partial is left to read.

The temporary file is created with mode 0o666 minus the umask, as ``open``
would, so a replaced spec or report keeps the usual permissions.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["replacing", "temp_name", "write_bytes_atomic", "write_json_atomic", "write_text_atomic"]


def temp_name(path: Path) -> Path:
    """A fresh hidden name beside ``path``: ``.<name>.<random>.tmp``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _create(path: Path) -> tuple[int, Path]:
    while True:
        tmp = temp_name(path)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


@contextlib.contextmanager
def replacing(path: Path, *, binary: bool = False, durable: bool = True) -> Iterator[IO[Any]]:
    """A file to write ``path``'s new content into; it becomes ``path`` when the block ends.

    If the block raises (or the write, fsync or rename fails), ``path`` is left as
    it was and the temporary file is removed. ``durable=False`` skips the fsync
    (tens of ms on a busy disk) for a file rewritten every few seconds whose next
    version supersedes it (a running trial's status, the runner's heartbeat):
    readers and a killed process still see old or new whole; only an OS crash
    could leave it empty.
    """
    path = Path(path)
    fd, tmp = _create(path)
    try:
        fh = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")
        with fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str, *, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8)."""
    with replacing(path, durable=durable) as fh:
        fh.write(text)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``."""
    with replacing(path, binary=True) as fh:
        fh.write(data)


def write_json_atomic(
    path: Path, data: Any, *, indent: int | None = 1, durable: bool = True
) -> None:
    """Replace ``path`` with ``data`` as JSON and a final newline (unknown types as str).

    The text is built before the file is opened, so data that cannot be encoded
    raises without touching the disk.
    """
    text = json.dumps(data, indent=indent, default=str) + "\n"
    write_text_atomic(path, text, durable=durable)
