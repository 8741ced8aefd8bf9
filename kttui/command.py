"""Building a trial's argv from the spec's command: placeholders, never a shell.

Each placeholder is replaced inside its own argv element, so a value such as
``"; rm -rf x"`` reaches the trial as one literal argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def argv_text(value: Any) -> str:
    """A value as a trial receives it on its command line: exact (repr of a float), never
    shortened the way :func:`kttui.safetext.format_value` shortens it for people."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _substitute(arg: str, values: Mapping[str, Any]) -> str:
    def repl(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return argv_text(values[match.group(1)])

    return _PLACEHOLDER.sub(repl, arg)


def referenced(command: list[str]) -> set[str]:
    return {m.group(1) for arg in command for m in _PLACEHOLDER.finditer(arg) if m.group(1)}


def build_argv(
    command: list[str], config: Mapping[str, Any], builtins: Mapping[str, Any], pass_params: str
) -> list[str]:
    """The argv of one trial: placeholders filled, params appended as flags when asked."""
    values = {**builtins, **config}
    argv = [_substitute(arg, values) for arg in command]
    used = referenced(command)
    if pass_params == "flags" or (pass_params == "auto" and not used):
        for name, value in config.items():
            if name not in used:
                argv += [f"--{name}", argv_text(value)]
    return argv
