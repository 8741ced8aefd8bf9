"""What the user does to a session as a whole: create, launch, open, delete, control, resume.

Each failure becomes a :class:`~kttui.service.ServiceError` whose message the
console shows as it is, never a traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kttui.service import ServiceError
from kttui.session import ACTIVE_STATES, Session, SessionError

if TYPE_CHECKING:
    from kttui.specload import LoadedSpec


def open_session(store: Path, ref: str | None) -> Session:
    """A session by id, prefix or path (``None``: the most recent running one)."""
    try:
        return Session.open(store, ref)
    except SessionError as exc:
        raise ServiceError(str(exc)) from None


def delete_session(session: Session) -> None:
    """Remove a session directory; never one whose runner may still be alive."""
    state = session.state()
    if session.runner_alive() or state in ACTIVE_STATES:
        raise ServiceError(
            f"{session.id} is {state}: its runner is alive; stop it first (`s` or `kttui stop`)"
        )
    if not (session.path / "session.json").is_file():
        raise ServiceError(f"{session.path} is not a session directory")
    try:
        shutil.rmtree(session.path)
    except OSError as exc:
        raise ServiceError(f"cannot delete {session.path}: {exc.strerror}") from None


# --------------------------------------------------------------------- control
def control(session: Session, command: str, **args: Any) -> dict[str, Any]:
    """One command to the session's runner (status/pause/resume/stop/kill/shutdown)."""
    from kttui.control import ControlError, request

    try:
        return request(session, command, **args)
    except ControlError as exc:
        raise ServiceError(str(exc)) from None


def resume(session: Session) -> str:
    """Launch again after a pause, or restart a stopped or crashed runner."""
    state = session.state()
    if state == "paused":
        control(session, "resume")
        return "launching resumed"
    if state in ("stopped", "crashed") and not session.runner_alive():
        from kttui.daemon import DaemonError, spawn_runner
        from kttui.sessionlock import SessionBusy

        try:
            pid = spawn_runner(session, resume=True)
        except SessionBusy as exc:
            raise ServiceError(str(exc)) from None
        except DaemonError as exc:
            raise ServiceError(str(exc).splitlines()[0]) from None
        return f"runner restarted (pid {pid})"
    raise ServiceError(f"{session.id} is {state}: nothing to resume")


def new_session(
    store: Path,
    loaded: LoadedSpec,
    source: Path | None,
    *,
    launch_dir: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> Session:
    """The one way a sweep session is created (``kttui run``, ``kttui demo``, the editor).

    Commands run in ``launch_dir`` (default: here); ``workdir`` is relative to the spec.
    """
    cwd = (launch_dir or Path.cwd()).resolve()
    spec_dir = source.resolve().parent if source else cwd
    info: dict[str, Any] = {"launch_dir": str(cwd), "spec_dir": str(spec_dir), **(extra or {})}
    try:
        return Session.create(
            store,
            loaded.spec,
            loaded.text,
            source=str(source.resolve()) if source else None,
            extra=info,
        )
    except (SessionError, OSError) as exc:
        raise ServiceError(str(exc)) from None


def create_session(
    store: Path,
    spec_text: str,
    source: Path | None,
    *,
    launch_dir: Path | None = None,
) -> Session:
    """Validate a spec text and create its session, as ``kttui run`` does."""
    from kttui.specload import SpecError, load_spec_text

    filename = str(source) if source else "<spec>"
    try:
        loaded = load_spec_text(spec_text, filename)
    except SpecError as exc:
        raise ServiceError(f"the spec has {len(exc.issues)} problem(s): {exc.issues[0]}") from None
    return new_session(store, loaded, source, launch_dir=launch_dir)


def launch(
    store: Path, spec_text: str, source: Path | None, *, launch_dir: Path | None = None
) -> Session:
    """Create a session from a spec text and start its detached runner."""
    from kttui.daemon import DaemonError, spawn_runner

    session = create_session(store, spec_text, source, launch_dir=launch_dir)
    try:
        spawn_runner(session, cwd=(launch_dir or Path.cwd()).resolve())
    except DaemonError as exc:
        raise ServiceError(str(exc)) from None
    return session
