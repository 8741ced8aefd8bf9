"""The trial table's columns: what each shows, how it sorts, and the filter language.

Kept apart from the drawing (:mod:`kttui.tui.widgets.trial_table`) so the
rules for a cell's text, a row's sort key and a filter term can be read and
tested alone.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from kttui.safetext import format_value, one_line
from kttui.service.rows import TrialRow, format_duration

STATE_STYLES = {
    "running": "bold cyan",
    "queued": "dim",
    "complete": "green",
    "pruned": "yellow",
    "fail": "bold red",
}
FIXED_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("number", "#", 3),
    ("state", "state", 8),
    ("epoch", "epoch", 5),
    ("current", "current", 7),
    ("best", "best", 7),
)
TAIL_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("time", "time", 6),
    ("slot", "slot", 6),
)
#: The widest a column grows to fit its content (a param's header may be wider).
MAX_WIDTH = {"state": 20, "slot": 12}
MAX_PARAM_WIDTH = 14
MAX_HEADER_WIDTH = 24
ALIASES = {"#": "number", "n": "number", "duration": "time", "value": "best", "gpu": "slot"}
FILTER_HELP = (
    "(/): space-separated terms, all must match. name<num, name>=num, name=value, "
    "name!=value compare a column (number, state, epoch, current, best, time, slot) "
    "or a param; any other word must appear in the row (e.g. fail, cpu1, lr=0.001). "
    "enter keeps the filter, esc clears it."
)
_TERM = re.compile(r"^([A-Za-z_#][\w#]*)\s*(<=|>=|!=|=|<|>|:)\s*(.+)$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "=": operator.eq,
    ":": operator.eq,
    "!=": operator.ne,
}


def column_value(row: TrialRow, column: str, now: float | None = None) -> Any:
    """The raw value of a row in a column (what sorting and filtering use)."""
    if column == "time":
        return row.elapsed(now)
    return column_getter(column)(row)


def _best(row: TrialRow) -> Any:
    return row.value if row.value is not None else row.best


def _elapsed(row: TrialRow) -> Any:
    return row.elapsed()


def _param_getter(name: str) -> Callable[[TrialRow], Any]:
    """A param's value; rows of one sweep list their params in the same order, so the
    position found in one row is tried first in the next (no scan of the tuple)."""
    at = [0]

    def get(row: TrialRow) -> Any:
        params, i = row.params, at[0]
        if i < len(params) and params[i][0] == name:
            return params[i][1]
        for i, (key, value) in enumerate(params):
            if key == name:
                at[0] = i
                return value
        return None

    return get


_GETTERS: dict[str, Callable[[TrialRow], Any]] = {
    "number": operator.attrgetter("number"),
    "state": operator.attrgetter("state"),
    "epoch": operator.attrgetter("epoch"),
    "current": operator.attrgetter("current"),
    "best": _best,
    "time": _elapsed,
    "slot": operator.attrgetter("slot"),
}


def column_getter(column: str) -> Callable[[TrialRow], Any]:
    """A row's raw value in ``column`` as a function (a filter calls it for every row)."""
    getter = _GETTERS.get(column)
    if getter is not None:
        return getter
    if column.startswith("p:"):
        return _param_getter(column[2:])
    return lambda row: None


def state_label(row: TrialRow) -> str:
    """The state cell: a queued trial says why it waits (the scheduler's reason)."""
    if row.state == "queued" and row.reason:
        reason = row.reason.removeprefix("pending:").strip()
        reason = reason.strip("()") if reason.startswith("(") else reason
        if reason and reason != "queued":
            return f"queued {reason}"
    return row.state


def cell(row: TrialRow, column: str, now: float) -> Text:
    """A row's cell in ``column`` as drawn (numbers right-aligned)."""
    value = column_value(row, column, now)
    if column == "state":
        return Text(state_label(row), style=STATE_STYLES.get(row.state, ""))
    if column == "time":
        return Text(format_duration(value), justify="right")
    if column == "number":
        return Text(str(row.number), justify="right")
    text = format_value(value)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return Text(text, justify="right" if numeric else "left", no_wrap=True)


@dataclass(frozen=True)
class Filter:
    """A filter typed after ``/``: space-separated terms, all of which must match.

    ``name<num``, ``name>=num``, ``name=value``, ``name!=value`` compare a column
    or a param; any other term is a substring of the row's text.
    """

    text: str = ""

    def terms(self) -> list[tuple[str, str, str] | str]:
        out: list[tuple[str, str, str] | str] = []
        for raw in self.text.split():
            match = _TERM.match(raw)
            if match:
                out.append((match.group(1), match.group(2), match.group(3)))
            else:
                out.append(raw.lower())
        return out

    def matcher(
        self, columns: Sequence[str], text: Callable[[TrialRow], str] | None = None
    ) -> Callable[[TrialRow], bool]:
        """A row predicate; ``text`` gives a row's searchable text (default :func:`row_text`,
        a caller may pass a cached one).

        Each comparison is worked out once per distinct value in the column, so a
        filter over ten thousand rows costs a dictionary look-up per row and term.
        """
        terms = self.terms()
        if not terms:
            return lambda row: True
        known = set(columns)
        text_of: Callable[[TrialRow], str] = text or row_text

        def resolve(name: str) -> str:
            name = ALIASES.get(name, name)
            if name in known:
                return name
            return f"p:{name}"

        checks: list[Callable[[TrialRow], bool]] = []
        for term in terms:
            if isinstance(term, str):
                checks.append(_contains(term, text_of))
            else:
                name, op, want = term
                checks.append(_comparison(resolve(name), _OPS[op], op, want))

        if len(checks) == 1:
            return checks[0]

        def matches(row: TrialRow) -> bool:
            return all(check(row) for check in checks)

        return matches


def row_text(row: TrialRow) -> str:
    """Where a plain filter word is looked for (lower case): number, state, slot, reason, params."""
    return row.search_text


def _contains(word: str, text: Callable[[TrialRow], str]) -> Callable[[TrialRow], bool]:
    if text is row_text:  # the row carries it: no call per row
        return lambda row: word in row.search_text
    return lambda row: word in text(row)


def _comparison(
    column: str, compare: Callable[[Any, Any], bool], op: str, want: str
) -> Callable[[TrialRow], bool]:
    """``column <op> want`` as a row predicate: numbers compare as numbers, else as text."""
    try:
        wanted: float | None = float(want)
    except ValueError:
        wanted = None
    ordering = op in ("<", ">", "<=", ">=")
    seen: dict[tuple[type, Any], bool] = {}
    get = column_getter(column)

    def judge(have: Any) -> bool:
        if wanted is not None:
            try:
                return compare(float(have), wanted)
            except (TypeError, ValueError):
                pass
        if ordering:  # an order needs two numbers
            return False
        return compare(format_value(have).lower(), want.lower())

    def check(row: TrialRow) -> bool:
        have = get(row)
        if have is None:
            return False
        kind = type(have)
        if wanted is not None and (kind is float or kind is int):
            return compare(have, wanted)  # the common case: no float(), no memo
        key = (kind, have)
        try:
            return seen[key]
        except KeyError:
            seen[key] = result = judge(have)
            return result
        except TypeError:  # an unhashable value: judged every time
            return judge(have)

    return check


def measure(rows: Iterable[TrialRow], params: Sequence[str], content: dict[str, int]) -> bool:
    """Note in ``content`` the widest text per measured column; True when one grew.

    Only string lengths are computed (no rendering), once per new or changed row.
    """
    grew = False
    for row in rows:
        widths = [("number", len(str(row.number))), ("state", len(state_label(row)))]
        if row.slot:
            widths.append(("slot", len(row.slot)))
        values = dict(row.params)
        widths += [(f"p:{p}", len(format_value(values.get(p)))) for p in params]
        for column, width in widths:
            if width > content.get(column, 0):
                content[column] = width
                grew = True
    return grew


def column_widths(
    columns: Sequence[str], label: Callable[[str], str], content: Mapping[str, int]
) -> list[int]:
    """Each column as wide as its content or its header (with the sort arrow), capped.

    A param's header is shown whole up to MAX_HEADER_WIDTH even when its
    values are short; values wider than the caps are cut with an ellipsis.
    """
    base = {k: w for k, _, w in FIXED_COLUMNS + TAIL_COLUMNS}
    widths = []
    for column in columns:
        header = len(label(column)) + 2
        wide = content.get(column, 0)
        if column.startswith("p:"):
            width = max(min(wide, MAX_PARAM_WIDTH), min(header, MAX_HEADER_WIDTH), 4)
        else:
            cap = MAX_WIDTH.get(column, 12)
            width = max(base.get(column, 4), min(max(wide, header), cap))
        widths.append(width)
    return widths


def column_label(column: str) -> str:
    """A column's header: a param's name, or the fixed column's short label."""
    if column.startswith("p:"):
        return one_line(column[2:])  # a param name may hold escape codes
    for key, label, _ in FIXED_COLUMNS + TAIL_COLUMNS:
        if key == column:
            return label
    return one_line(column)


def header_cells(
    columns: Sequence[str], widths: Sequence[int], sort_column: str, reverse: bool
) -> list[Text]:
    """The header line's cells; the sorted column carries an arrow."""
    arrow = " ▼" if reverse else " ▲"
    cells = []
    for column, width in zip(columns, widths, strict=False):
        label = column_label(column)
        if column == sort_column:
            label = label[: max(1, width - 2)] + arrow
        numeric = column not in ("state", "slot") and not column.startswith("p:")
        cells.append(Text(label, justify="right" if numeric else "left"))
    return cells


def lay_out(cells: Sequence[Text], widths: Sequence[int]) -> Text:
    """One table line: each cell padded (or cut with an ellipsis) to its column's width."""
    line = Text(no_wrap=True, end="")
    for item, width in zip(cells, widths, strict=False):
        item = item.copy()
        item.truncate(width, overflow="ellipsis")
        pad = width - item.cell_len
        if item.justify == "right":
            line.append(" " * (pad + 1))
            line.append_text(item)
        else:
            line.append(" ")
            line.append_text(item)
            line.append(" " * pad)
    return line
