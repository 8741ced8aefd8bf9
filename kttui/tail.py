"""Follow a growing text file: new complete lines only, across truncation and re-creation.

A trial may be writing half a line when we look (the newline has not been
flushed yet), may truncate its log, or delete and re-create it. The tail keeps
the partial line until its newline arrives, and starts over from the top when
the file shrinks or is replaced; the epoch policy downstream then drops epochs
it has already seen. A line longer than :data:`MAX_LINE` is not kept whole (a
trial printing a 1 GB line without a newline must not fill the runner's memory):
its first :data:`KEEP` bytes come out, marked as cut, and the lines after it
are read as usual. The tail holds the file open, which also keeps the kernel
from handing a re-created file the same inode number we are watching.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

#: Read at most this much per call so a trial printing gigabytes cannot stall the runner.
CHUNK = 1 << 20
#: Lines longer than this are cut to their first KEEP bytes (never valid metric lines).
MAX_LINE = 1 << 20
KEEP = 4096
CUT_MARK = " … [line over 1 MB cut]"


@dataclass
class FileTail:
    path: Path
    offset: int = 0
    partial: bytes = b""
    resets: int = 0
    fd: int | None = None
    cut: bool = False  # the pending partial line is already over MAX_LINE

    def _prepare(self) -> int | None:
        """The fd to read from and how much there is; reopen when the file was replaced."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        if self.fd is not None:
            held = os.fstat(self.fd)
            if (held.st_dev, held.st_ino) != (st.st_dev, st.st_ino):
                self.close()
                self._reset()
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except OSError:
                return None
        size = os.fstat(self.fd).st_size
        if size < self.offset:
            self._reset()
        return size

    def _reset(self) -> None:
        self.offset, self.partial, self.cut = 0, b"", False
        self.resets += 1

    def _split(self, data: bytes) -> list[str]:
        self.offset += len(data)
        *lines, rest = (self.partial + data).split(b"\n")
        out = []
        for line in lines:
            if self.cut or len(line) > MAX_LINE:
                out.append(_decode(line[:KEEP]) + CUT_MARK)
                self.cut = False
            else:
                out.append(_decode(line))
        if self.cut or len(rest) > MAX_LINE:
            rest, self.cut = rest[:KEEP], True
        self.partial = rest
        return out

    def read_lines(self) -> list[str]:
        """New complete lines since the last call."""
        size = self._prepare()
        if size is None or size == self.offset or self.fd is None:
            return []
        return self._split(os.pread(self.fd, min(CHUNK, size - self.offset), self.offset))

    async def aread_lines(self) -> list[str]:
        """Like :meth:`read_lines`, with the read off the event loop (slow or network disks)."""
        size = self._prepare()
        if size is None or size == self.offset or self.fd is None:
            return []
        from aiofiles.os import wrap  # only the runner's event loop reads this way

        data = await wrap(os.pread)(self.fd, min(CHUNK, size - self.offset), self.offset)
        return self._split(data)

    def drain(self) -> list[str]:
        """Everything left, including an unterminated last line (the writer is gone).

        Reads until the offset stops moving, not until a read yields no line: a
        1 MB chunk of one long line yields none, and the lines after it count.
        """
        lines: list[str] = []
        while True:
            before = self.offset
            lines.extend(self.read_lines())
            if self.offset == before:
                break
        if self.partial:
            lines.append(_decode(self.partial) + (CUT_MARK if self.cut else ""))
            self.partial, self.cut = b"", False
        self.close()
        return lines

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace")


def last_lines(path: Path, lines: int, max_bytes: int = 16384) -> list[str]:
    """The last ``lines`` lines of a (possibly huge) log, reading only its end."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - max_bytes))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return data.splitlines()[-lines:]
