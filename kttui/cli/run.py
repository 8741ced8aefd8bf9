"""``kttui run`` and ``kttui resume``: create or reopen a session and start its runner."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kttui.cli import fail
from kttui.cli.progress import Progress

PASSWORD_ENV = "KTTUI_DB_PASSWORD"  # as kttui.storage reads it (not imported: it loads Optuna)


def _print_result(session: Any) -> None:
    from kttui.session import summarize

    s = summarize(session)
    c = s["counts"]
    print(
        f"{s['id']}: {s['state']}; {c.get('complete', 0)} complete, {c.get('pruned', 0)} pruned, "
        f"{c.get('fail', 0)} failed"
    )
    if s["best_value"] is not None:
        print(f"best {s['metric']} = {s['best_value']:.6g} (trial {s['best_trial']})")
    print(f"session: {s['path']}")


def _foreground(session: Any, resume: bool) -> int:
    from kttui.runner import Runner

    progress = Progress(session.id)
    try:
        code = Runner(session, on_change=progress).run(resume=resume)
    finally:
        progress.close()
    _print_result(session)
    return code


def _detached(
    session: Any,
    resume: bool,
    cwd: Path | None,
    env: dict[str, str] | None = None,
    fork: bool = True,
) -> int:
    """``fork``: this command may become the runner (kttui.daemon); not when it has
    loaded what a runner must not carry (the demo's trainer, native thread pools)."""
    from kttui.daemon import DaemonError, spawn_runner
    from kttui.sessionlock import SessionBusy

    try:
        pid = spawn_runner(session, resume=resume, cwd=cwd, env=env, fork=fork)
    except SessionBusy as exc:
        return fail(str(exc), code=2)
    except DaemonError as exc:
        return fail(str(exc))
    verb = "resumed" if resume else "started"
    print(f"{session.id}: runner {verb} (pid {pid}), detached from this terminal")
    print(f"  kttui status {session.id}      progress")
    print(f"  kttui stop {session.id}        finish running trials, launch no more")
    print(f"  session: {session.path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from kttui.service import ServiceError
    from kttui.service.sessions import new_session
    from kttui.session import default_store, url_password
    from kttui.specload import SpecError, load_spec

    try:
        loaded = load_spec(args.spec)
        if args.configs:
            loaded = with_csv_configs(loaded, Path(args.configs))
    except SpecError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    try:
        session = new_session(default_store(args.sessions_dir), loaded, Path(args.spec))
    except ServiceError as exc:
        return fail(str(exc))
    password = url_password(loaded.spec.storage)
    if password is not None:
        os.environ[PASSWORD_ENV] = password  # the runner here, or the detached one, gets it
    if args.foreground:
        return _foreground(session, resume=False)
    return _detached(session, resume=False, cwd=Path.cwd())


def with_csv_configs(loaded: Any, path: Path) -> Any:
    """The spec with ``strategy: {sampler: list, configs: <the CSV's rows>}``.

    The rows go into the spec text itself, so the session's frozen copy says
    exactly what ran; a bad row is reported as ``FILE.csv:ROW: param: message``.
    """
    import csv
    import io

    from ruamel.yaml import YAML

    from kttui.importers import parse_scalar
    from kttui.specload import SpecError, SpecIssue, check_config, load_spec_text

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecError([SpecIssue(str(path), 0, "", f"cannot read: {exc}")]) from None
    if not rows:
        raise SpecError([SpecIssue(str(path), 0, "", "no configs (a header and one row each)")])
    configs, issues = [], []
    for i, raw in enumerate(rows):
        config = {k: parse_scalar(v or "") for k, v in raw.items() if k}
        for loc, message in check_config(loaded.spec, config, ()):
            issues.append(SpecIssue(str(path), i + 2, ".".join(map(str, loc)), message))
        configs.append(config)
    if issues:
        raise SpecError(issues)
    yaml = YAML(typ="rt")
    data = yaml.load(loaded.text)
    data["strategy"] = {"sampler": "list", "configs": configs}
    out = io.StringIO()
    yaml.dump(data, out)
    text = f"# strategy: the configs of {path.name}, one per row (kttui run --configs)\n"
    result = load_spec_text(text + out.getvalue(), str(loaded.path or "<spec>"))
    return type(loaded)(result.spec, result.space, result.text, loaded.path)


def cmd_resume(args: argparse.Namespace) -> int:
    from kttui.session import Session, SessionError, default_store

    try:
        session = Session.open(default_store(args.sessions_dir), args.session)
    except SessionError as exc:
        return fail(str(exc))
    if session.runner_alive():
        pid = (session.runner() or {}).get("pid")
        return fail(
            f"session {session.id} is held by runner pid {pid}; it is still running, "
            "nothing to resume",
            code=2,
        )
    if session.state() == "imported":
        return fail(f"{session.id} is an imported, read-only session")
    if args.foreground:
        return _foreground(session, resume=True)
    return _detached(session, resume=True, cwd=None)
