"""How deep a YAML text nests, found without parsing it.

The YAML parsers recurse once per level and take seconds to fail on 20 000
levels; a spec never needs more than a handful. Counting brackets and runs of
``- `` markers is linear and errs only on absurd texts (a quoted string of 200
open brackets), so deeper texts are refused before parsing.
"""

from __future__ import annotations

import re

MAX_YAML_DEPTH = 200
_FLOW = re.compile(r"[\[\]{}]")
_BLOCK = re.compile(r"^[ \t]*((?:[-?:][ \t]+)+)", re.MULTILINE)


def nesting_line(text: str, limit: int = MAX_YAML_DEPTH) -> int | None:
    """The 1-based line where ``text`` nests deeper than ``limit``, or None."""
    depth = 0
    for match in _FLOW.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            return text.count("\n", 0, match.start()) + 1
    for match in _BLOCK.finditer(text):
        if len(match.group(1).split()) > limit:
            return text.count("\n", 0, match.start()) + 1
    return None
