"""Another local user against a running session: nothing to read, connect to or replace.

A real second account (useradd; the tests run as root) makes each attempt through
``runuser`` with the system Python. The session path is made too long for a unix
socket, so the socket goes to the per-user folder under a shared, world-writable
$TMPDIR, where a hijack would happen. Everything above the session directory is
left world-readable, so only kttui's own protections stand in the way.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kttui.session import Session, list_sessions
from kttui.sockpath import SocketPathError, ensure_private_dir
from tests.conftest import kttui, missing, wait_for, write_spec

pytestmark = pytest.mark.timeout(120)

ATTEMPTS = r"""
import json, os, socket, sys
session, sock, sockdir = sys.argv[1:4]
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "allowed"
    except OSError as exc:
        out[name] = type(exc).__name__
def talk():
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(sock)
        s.sendall(b'{"cmd": "stop"}\n')
        if not s.recv(65536):
            raise ConnectionRefusedError("closed without a reply")
attempt("list", lambda: os.listdir(session))
attempt("read", lambda: open(os.path.join(session, "spec.yaml")).read())
attempt("write", lambda: open(os.path.join(session, "runner.json"), "w").write("{}"))
attempt("rename", lambda: os.rename(session, session + ".mine"))
attempt("list_sockdir", lambda: os.listdir(sockdir))
attempt("connect", talk)
attempt("unlink_socket", lambda: os.unlink(sock))
attempt("plant", lambda: open(os.path.join(sockdir, "x.sock"), "w").write(""))
print(json.dumps(out))
"""


@pytest.fixture
def other_user() -> Iterator[str]:
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        missing("needs useradd and runuser (and root) to test another local user")
    name = f"kttui-{uuid.uuid4().hex[:8]}"
    res = subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        missing(f"useradd {name} failed: {res.stderr.strip()}")
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A world-writable sticky folder like /tmp, used as $TMPDIR by both users."""
    path = Path(tempfile.mkdtemp(prefix="kttui-shared-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_user(user: str, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", user, "--", "/usr/bin/python3", "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )


def start(tmp: Path, shared: Path) -> tuple[Session, Path, dict[str, str]]:
    store = shared / ("long" * 20) / "store"  # the session path: too long for a socket
    store.mkdir(parents=True, mode=0o755)
    store.parent.chmod(0o755)
    spec = write_spec(
        tmp / "s.yaml",
        fixed={"epochs": 200, "epoch_s": 0.1},
        strategy={"sampler": "random", "n_trials": 2},
    )
    env = {"TMPDIR": str(shared), "XDG_RUNTIME_DIR": ""}
    proc = kttui("run", str(spec), "--sessions-dir", str(store), env=env)
    assert proc.returncode == 0, proc.stderr
    session = list_sessions(store)[0]
    wait_for(lambda: session.state() == "running", timeout=30)
    return session, store, env


def stop(session: Session, store: Path, env: dict[str, str]) -> None:
    kttui("shutdown", session.id, "--sessions-dir", str(store), env=env)
    wait_for(lambda: session.state() in ("stopped", "crashed"), timeout=30)


def test_another_user_cannot_read_connect_to_or_replace_a_session(
    tmp_path: Path, shared_tmp: Path, other_user: str
) -> None:
    session, store, env = start(tmp_path, shared_tmp)
    try:
        sock = Path(session.runner()["socket"])  # type: ignore[index]
        sockdir = shared_tmp / f"kttui-{os.getuid()}"
        assert sock.parent == sockdir  # the long-path case this test is about
        st = os.lstat(sockdir)
        assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()
        assert stat.S_IMODE(session.path.stat().st_mode) == 0o700

        res = as_user(other_user, ATTEMPTS, str(session.path), str(sock), str(sockdir))
        assert res.returncode == 0, res.stderr
        seen = json.loads(res.stdout)
        assert set(seen.values()) == {"PermissionError"}, seen
        assert session.state() == "running" and sock.exists()
        assert (session.spec_path).exists() and not Path(f"{session.path}.mine").exists()

        proc = kttui("pause", session.id, "--sessions-dir", str(store), env=env)
        assert proc.returncode == 0 and "paused" in proc.stdout, proc.stderr  # the owner can
    finally:
        stop(session, store, env)


def test_a_socket_reachable_by_mistake_obeys_only_its_owner(
    tmp_path: Path, shared_tmp: Path, other_user: str
) -> None:
    """Even with the folder and socket opened up, the runner refuses the peer's uid."""
    session, store, env = start(tmp_path, shared_tmp)
    try:
        sock = Path(session.runner()["socket"])  # type: ignore[index]
        sock.parent.chmod(0o711)
        sock.chmod(0o666)
        res = as_user(other_user, ATTEMPTS, str(session.path), str(sock), str(sock.parent))
        seen = json.loads(res.stdout)
        # it connects, but the runner hangs up without a reply (or reading the command)
        assert seen["connect"] in (
            "ConnectionRefusedError",
            "ConnectionResetError",
            "BrokenPipeError",
        ), seen
        assert seen["list"] == seen["unlink_socket"] == "PermissionError", seen
        assert session.state() == "running"
        # recorded by the runner's loop, after the hang-up the peer saw: waited for
        wait_for(
            lambda: (
                "refused a control connection"
                in [e.get("message") for e in session.events() if e["event"] == "warning"]
            )
        )
        proc = kttui("pause", session.id, "--sessions-dir", str(store), env=env)
        assert proc.returncode == 0 and "paused" in proc.stdout, proc.stderr
    finally:
        stop(session, store, env)


def test_a_socket_folder_another_user_made_first_is_refused(
    tmp_path: Path, shared_tmp: Path, other_user: str
) -> None:
    sockdir = shared_tmp / f"kttui-{os.getuid()}"
    res = as_user(other_user, "import os, sys; os.mkdir(sys.argv[1], 0o777)", str(sockdir))
    assert res.returncode == 0, res.stderr
    store = shared_tmp / ("long" * 20) / "store"
    store.mkdir(parents=True)
    spec = write_spec(tmp_path / "s.yaml")
    env = {"TMPDIR": str(shared_tmp), "XDG_RUNTIME_DIR": ""}
    kttui("run", str(spec), "--sessions-dir", str(store), env=env)
    session = list_sessions(store)[0]
    wait_for(lambda: session.state() in ("stopped", "crashed", "finished"), timeout=30)
    reason = str(session.runner()["reason"])  # type: ignore[index]
    assert session.state() == "stopped" and reason.startswith("refusing to put the control"), reason
    assert "belongs to uid" in reason and "Traceback" not in session.runner_log.read_text()
    assert os.listdir(sockdir) == [] and session.trial_numbers() == []
    status = kttui("status", session.id, "--sessions-dir", str(store))
    assert "refusing to put the control socket" in status.stdout


def test_only_a_private_directory_of_ours_is_accepted(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    ensure_private_dir(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    ensure_private_dir(fresh)  # ours and private: accepted again
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o755)
    with pytest.raises(SocketPathError, match="mode is 0755; it must be 0700"):
        ensure_private_dir(loose)
    link = tmp_path / "link"
    link.symlink_to(fresh)
    with pytest.raises(SocketPathError, match="symbolic link"):
        ensure_private_dir(link)
    plain = tmp_path / "file"
    plain.write_text("")
    with pytest.raises(SocketPathError, match="not a directory"):
        ensure_private_dir(plain)
