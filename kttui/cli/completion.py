"""Tab completion for bash, zsh and fish, generated from the argument parser.

argcomplete reads the same parser ``kttui --help`` prints, so the sub-commands and
options a shell offers can never drift from the real ones. What argcomplete cannot
know is which *values* make sense: session ids from the store the command line
names, spec files, CSV files. The parser class here gives each argument its
completer by the argument's name, so adding a sub-command with a ``session`` or
``spec`` argument gets completion without touching this file.

argcomplete is imported only when a shell asks for completions (``_ARGCOMPLETE`` in
the environment) or for its script, never on a normal run.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from kttui.cli import fail

SHELLS = ("bash", "zsh", "fish")
#: argcomplete sets this in the environment of the command it runs to complete.
ASKING = "_ARGCOMPLETE"


def session_ids(prefix: str, parsed_args: argparse.Namespace) -> dict[str, str]:
    """Ids of the sessions in the store the command line points at, newest first.

    Each comes with the session's name as its description (zsh and fish show it), and
    only ``session.json`` is read: a completion runs on every tab press.
    """
    from kttui.session import default_store, read_json

    store = default_store(getattr(parsed_args, "sessions_dir", None))
    found: dict[str, str] = {}
    try:
        entries = sorted(os.scandir(store), key=lambda e: e.name, reverse=True)
    except OSError:
        return found
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_dir():
            continue
        info = read_json(Path(entry.path) / "session.json")
        if isinstance(info, dict):
            found[entry.name] = str(info.get("name") or "")
    return found


#: What each argument holds, by its ``dest``: the kind of value a shell should offer.
KINDS = {
    "session": "session",
    "spec": "spec",
    "specs": "spec",
    "refine": "spec",
    "proposals": "spec",
    "configs": "csv",
    "file": "csv",
    "sessions_dir": "folder",
    "csv_dir": "folder",
    "dir": "folder",
}


class ValueCompleter:
    """argcomplete's completer protocol, with argcomplete imported only when called."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, *, prefix: str, parsed_args: argparse.Namespace, **kwargs: Any) -> Any:
        from argcomplete.completers import DirectoriesCompleter, FilesCompleter

        if self.kind == "session":
            return session_ids(prefix, parsed_args)
        if self.kind == "folder":
            return DirectoriesCompleter()(prefix, **kwargs)
        names = ("yaml", "yml") if self.kind == "spec" else ("csv",)
        return FilesCompleter(names)(prefix, **kwargs)


class Parser(argparse.ArgumentParser):
    """An argument parser whose arguments say, by their names, what values complete them.

    Sub-parsers are made of the same class, so a new sub-command with a ``session``
    or ``spec`` argument completes without a line here.
    """

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        kind = KINDS.get(action.dest)
        if kind is not None:
            action.completer = ValueCompleter(kind)  # type: ignore[attr-defined]
        return action


def complete_if_asked(parser: argparse.ArgumentParser) -> None:
    """Answer a shell's completion request and exit; do nothing on a normal run."""
    if ASKING not in os.environ:
        return
    import argcomplete

    # options are offered once a "-" is typed; before that, the values that fit
    argcomplete.autocomplete(parser, always_complete_options=False)


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the shell code that makes ``kttui`` complete in that shell."""
    try:
        import argcomplete
    except ImportError:
        return fail("completion needs argcomplete: pip install argcomplete")
    print(argcomplete.shellcode(["kttui"], shell=args.shell), end="")
    return 0
