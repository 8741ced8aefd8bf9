"""kttui.atomicfile, the one way a file is replaced: never half-written, never a stray temp.

Attacked the ways a write really dies: SIGKILL and Ctrl-C in the middle of a
write (real child processes stopped at a known point), a full disk (a real
tmpfs filled up), data that cannot be encoded.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kttui.atomicfile import (
    replacing,
    temp_name,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from tests import test_diskfull

pytestmark = pytest.mark.timeout(120)

OLD = {"state": "old", "pad": "x" * 1000}

# Writes half of the new content, says so on stdout, then waits on stdin forever.
HALF_WRITE = """
import sys
from pathlib import Path
from kttui.atomicfile import replacing
with replacing(Path(sys.argv[1])) as fh:
    fh.write('{"state": "new", "pad": "' + "y" * 100000)
    fh.flush()
    print("half", flush=True)
    sys.stdin.read()
    fh.write('"}\\n')
"""


def _half_written(target: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HALF_WRITE, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "half\n"  # blocks until the child is mid-write
    return proc


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize(
    ("write", "data", "expected"),
    [
        (write_text_atomic, "héllo\n", b"h\xc3\xa9llo\n"),
        (write_bytes_atomic, b"\x00\xff", b"\x00\xff"),
        (write_json_atomic, {"a": [1, 2]}, b'{\n "a": [\n  1,\n  2\n ]\n}\n'),
        (write_json_atomic, {"p": Path("/x")}, b'{\n "p": "/x"\n}\n'),  # unknown types: str
        (write_json_atomic, [], b"[]\n"),
    ],
)
def test_writes_exactly_the_content(tmp_path: Path, write, data, expected) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "f"
    target.write_text("previous content, longer than the new one")
    write(target, data)
    assert target.read_bytes() == expected
    assert _temps(tmp_path) == []


def test_temp_name_is_hidden_beside_the_target_and_fresh() -> None:
    assert temp_name(Path("/d/x.json")).parent == Path("/d")
    assert temp_name(Path("/d/x.json")).name.startswith(".x.json.")
    assert temp_name(Path("/d/x.json")) != temp_name(Path("/d/x.json"))


# compact for one-line records (evaluation.json), 4 for pykt's own config files
@pytest.mark.parametrize(("indent", "text"), [(None, '{"a": 1}\n'), (4, '{\n    "a": 1\n}\n')])
def test_json_indent(tmp_path: Path, indent: int | None, text: str) -> None:
    write_json_atomic(tmp_path / "f.json", {"a": 1}, indent=indent)
    assert (tmp_path / "f.json").read_text() == text


def test_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    """Not mkstemp's 0600: a saved spec or report stays readable by the group as before."""
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "spec.yaml", "a: 1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "spec.yaml").stat().st_mode) == 0o644


def test_an_exception_in_the_block_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    write_json_atomic(target, OLD)
    with pytest.raises(RuntimeError), replacing(target) as fh:
        fh.write('{"half": ')
        raise RuntimeError("the writer failed")
    assert json.loads(target.read_text()) == OLD
    assert _temps(tmp_path) == []


def test_data_that_cannot_be_encoded_touches_nothing(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    write_json_atomic(target, OLD)
    cyclic: list[object] = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError):
        write_json_atomic(target, cyclic)
    assert json.loads(target.read_text()) == OLD
    assert _temps(tmp_path) == []


def test_a_missing_folder_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_json_atomic(tmp_path / "gone" / "status.json", OLD)


def test_sigkill_mid_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "runner.json"
    write_json_atomic(target, OLD)
    proc = _half_written(target)
    try:
        assert json.loads(target.read_text()) == OLD  # mid-write: readers see the old file
        assert len(_temps(tmp_path)) == 1
        proc.kill()
        proc.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert json.loads(target.read_text()) == OLD
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["runner.json"]


def test_sigkill_before_the_first_write_leaves_no_file_at_all(tmp_path: Path) -> None:
    target = tmp_path / "session.json"
    proc = _half_written(target)
    proc.kill()
    proc.wait(timeout=60)
    assert not target.exists()  # never a truncated session.json for readers to choke on


def test_ctrl_c_mid_write_removes_the_temp_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "spec.yaml"
    write_text_atomic(target, "old: 1\n")
    proc = _half_written(target)
    proc.send_signal(signal.SIGINT)
    assert proc.stdin is not None
    proc.stdin.close()  # in case the signal lands before the read starts
    assert proc.wait(timeout=60) != 0
    assert target.read_text() == "old: 1\n"
    assert _temps(tmp_path) == []


def test_completed_write_replaces_atomically_for_a_reader(tmp_path: Path) -> None:
    target = tmp_path / "runner.json"
    write_json_atomic(target, OLD)
    proc = _half_written(target)
    assert proc.stdin is not None
    proc.stdin.close()  # let it finish
    assert proc.wait(timeout=60) == 0
    assert json.loads(target.read_text())["state"] == "new"
    assert _temps(tmp_path) == []


tmpfs = test_diskfull.tmpfs  # a real tmpfs, mounted for the test and unmounted after


@pytest.fixture
def full_disk(request: pytest.FixtureRequest) -> Path:
    """The tmpfs, filled to the last block."""
    mnt: Path = request.getfixturevalue("tmpfs")
    (mnt / "status.json").write_text(json.dumps(OLD))
    test_diskfull.fill(mnt)
    return mnt


def test_a_full_disk_raises_enospc_keeps_the_old_file_and_no_temp(full_disk: Path) -> None:
    """The disk-full guard (kttui/pending.py) keys on this very OSError."""
    target = full_disk / "status.json"
    with pytest.raises(OSError) as info:
        write_json_atomic(target, {"state": "new", "pad": "z" * 100_000})
    assert info.value.errno == errno.ENOSPC
    assert json.loads(target.read_text()) == OLD
    assert _temps(full_disk) == []
