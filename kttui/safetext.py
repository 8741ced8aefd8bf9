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
import numbers
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


#: What every surface shows for "no value" (None, NaN, pandas' NA, the empty string).
MISSING = "—"


def is_missing(value: Any) -> bool:
    """True when ``value`` means "no value": None, NaN, pandas' NA/NaT or ``""``.

    Without importing pandas: NaN and NaT are unequal to themselves, and pandas'
    NA refuses to be a bool at all.
    """
    if value is None or (isinstance(value, str) and value == ""):
        return True
    try:
        return bool(value != value)
    except TypeError:
        return True  # pandas.NA: neither equal nor unequal to itself
    except ValueError:
        return False  # an array: a value, not a missing one


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")


def format_value(value: Any) -> str:
    """A param or metric value in a few characters: the one rule of console, report and advice.

    Missing values read :data:`MISSING`; ints stay ints (and a float holding an
    integer, as pandas stores an int column with a gap, reads as one: 256.0 ->
    ``256``, -0.0 -> ``0``); other floats get 4 significant digits, 3 when very
    small or large so a column stays narrow (0.000107, 1.23e+05); extreme numbers
    stay short (1e308 -> ``1e+308``, 10**400 -> ``1e+400``); text loses escapes,
    control characters and line breaks. Not for argv (kttui/command.py writes
    exact values) nor for Markdown (callers escape with :func:`md_escape`).
    """
    if type(value) is float and value == value:  # the common cases, without the checks below
        return _format_real(value)
    if type(value) is int:
        return compact_number(value)
    if is_missing(value):
        return MISSING
    if _is_bool(value):
        return "True" if value else "False"
    if isinstance(value, numbers.Integral):
        return compact_number(int(value))
    if isinstance(value, numbers.Real):
        return _format_real(float(value))
    return one_line(str(value))


def _format_real(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        return f"{x:.3g}"
    return f"{x:.4g}"


#: ints this close to 0 convert to a float without overflowing
_BIG_INT = 1 << 1000


def sort_key(value: Any) -> tuple[int, float, str]:
    """Missing values first, then numbers in numeric order, then bools, then text by label."""
    kind = type(value)  # the common cases first, without the checks below (a sort calls it a lot)
    if kind is float and value == value:
        return (1, value, "")
    if kind is int and -_BIG_INT < value < _BIG_INT:
        return (1, float(value), "")
    if is_missing(value):
        return (0, 0.0, "")
    if _is_bool(value):
        return (2, float(bool(value)), "")
    if isinstance(value, numbers.Real):
        try:
            return (1, float(value), "")
        except OverflowError:  # an int too large for a float
            positive: bool = value > 0  # type: ignore[operator]  # numbers.Real has no "<" in typeshed
            return (1, math.inf if positive else -math.inf, "")
    return (3, 0.0, format_value(value))
