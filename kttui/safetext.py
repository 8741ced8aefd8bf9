"""Text from trials and imports made safe for wherever it is shown: one copy of the rules.

Param values, metric names and trial output are written by other people's
programs. Before they reach a terminal (the console, ``kttui report`` on
stdout), a Markdown or HTML rendering, or a CSV file opened in a spreadsheet,
they lose escape sequences and control characters (ESC, BEL, bidi overrides),
Markdown and HTML metacharacters are escaped, and numbers are written
compactly, so ``1e308`` is six characters and not three hundred.
"""

from __future__ import annotations

import math
import re
from typing import Any

_ESCAPES = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC ... ST
    r"|[ -/]*[0-~])?"  # two- and three-byte escapes; a lone ESC goes too
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("\r\n|[\n\r\t\x0b\x0c\x85\u2028\u2029]")
#: HTML's metacharacters; Markdown renders the entities as the characters.
_HTML = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
#: Markdown's inline metacharacters (``_`` inside words is literal in GitHub Markdown).
_MD = {**{c: "\\" + c for c in "\\`*|~[]"}, **_HTML}
_MD_RE = re.compile("|".join(re.escape(c) for c in _MD))
_CELL = {"|": "\\|", **_HTML}
#: Not re-escaped: a ``\\|`` or an entity that :func:`md_escape` already wrote.
_CELL_RE = re.compile(r"(?<!\\)\||[<>]|&(?!(?:lt|gt|amp|quot|#\d+);)")


def sanitize(line: str) -> str:
    """A line of trial output made safe to draw: no escape or control sequences.

    A carriage return redraws a line in a terminal (progress bars); only the
    text after the last one is kept, which is what a terminal would show.
    """
    line = _ESCAPES.sub("", line)
    if "\r" in line:
        line = line.rstrip("\r").rsplit("\r", 1)[-1]
    line = line.replace("\t", "    ")
    return _CONTROLS.sub("", line)


def one_line(text: str) -> str:
    """A value for a table cell or a CSV field: no escapes, controls or line breaks."""
    return _CONTROLS.sub("", _BREAKS.sub(" ", _ESCAPES.sub("", text)))


def strip_controls(text: str) -> str:
    """A whole document (a report) without escapes or controls; newlines and tabs stay."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text)).replace("\x0b", "")


def md_escape(text: str) -> str:
    """Plain text that renders as itself in Markdown and HTML (``<script>`` stays text)."""
    return _MD_RE.sub(lambda m: _MD[m.group(0)], one_line(text))


def md_cell(text: str) -> str:
    """A Markdown table cell the report wrote (it may hold **bold**): one line, no
    column break, no HTML; values inside it were escaped by :func:`md_escape`."""
    return _CELL_RE.sub(lambda m: _CELL[m.group(0)], one_line(text))


def md_code(text: str) -> str:
    """An inline code span that holds any text, backticks included."""
    text = one_line(text)
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if run or text.startswith(" ") or text.endswith(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def compact_number(value: float | int, digits: int = 4) -> str:
    """A number in at most ~10 characters: 1e308 -> '1e+308', 10**400 -> '1e+400'."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        exponent = len(str(abs(value))) - 1 if abs(value).bit_length() < 4000 else None
        if exponent is None:
            return "-huge" if value < 0 else "huge"
        mantissa = abs(value) // 10 ** max(exponent - digits + 1, 0)
        lead = str(mantissa)
        text = f"{lead[0]}.{lead[1:digits]}".rstrip("0").rstrip(".") + f"e+{exponent:02d}"
        return "-" + text if value < 0 else text
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def format_value(value: Any) -> str:
    """A param or metric value in a few characters, safe to draw in a terminal cell."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3g}"
        return f"{value:.4g}"
    if isinstance(value, int):
        return compact_number(value)
    return one_line(str(value))
