"""Load a spec file and report every problem as ``FILE:LINE: field.path: message``.

YAML is read twice: a *safe* load gives the values (no tags, no objects), a
round-trip load gives the line of every key so that pydantic's error locations
can be pointed at the line a user has to fix. Cross-field rules (names,
expressions, placeholders, ranges) are :mod:`kttui.specrules`; they run here,
after the per-field validation, because only here do errors know their line.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kttui.space import SearchSpace, compile_space
from kttui.spec import MODELS_BY_PATH, Spec
from kttui.specpartial import overlaps, validate_partially
from kttui.specrules import Loc, cross_check
from kttui.specrules import check_config as check_config  # the runner's import of it
from kttui.yamldepth import MAX_YAML_DEPTH, nesting_line


@dataclass(frozen=True)
class SpecIssue:
    file: str
    line: int  # 1-based; 0 when unknown
    path: str
    message: str
    column: int = 0  # 1-based column of the offending key; 0 when unknown

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(Exception):
    """A spec is invalid; ``issues`` holds every problem, each with its line."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    space: SearchSpace
    text: str
    path: Path | None


def load_spec(path: str | Path) -> LoadedSpec:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([SpecIssue(str(p), 0, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([SpecIssue(str(p), 0, "", f"cannot read: {exc}")]) from None
    loaded = load_spec_text(text, str(p))
    return LoadedSpec(loaded.spec, loaded.space, text, p)


def load_spec_text(text: str, filename: str = "<spec>") -> LoadedSpec:
    """Validate spec text; raise :class:`SpecError` listing every problem."""
    data = _parse_yaml(text, filename)
    if not isinstance(data, dict):
        raise SpecError([SpecIssue(filename, 1, "", "a spec must be a mapping of keys")])
    locator = _Locator(filename, lambda: _marks(text))
    issues: list[SpecIssue] = []
    pruned: list[Loc] = []
    try:
        spec: Spec | None = Spec.model_validate(data)
    except ValidationError as exc:  # go on: every problem at once, schema and semantic
        issues = locator.from_pydantic(exc)
        spec, pruned = validate_partially(data, exc)
    if spec is None:
        raise SpecError(sorted(issues, key=lambda i: (i.line, i.column)))
    space, space_issues = compile_space(spec)
    semantic = [(i.loc, i.message) for i in space_issues] + list(cross_check(spec))
    issues += [locator.issue(loc, msg) for loc, msg in semantic if not overlaps(loc, msg, pruned)]
    if issues:
        raise SpecError(sorted(issues, key=lambda i: (i.line, i.column)))
    return LoadedSpec(spec, space, text, None)


def _parse_yaml(text: str, filename: str) -> Any:
    deep = nesting_line(text)
    if deep is not None:
        message = f"YAML: nested more than {MAX_YAML_DEPTH} levels deep"
        raise SpecError([SpecIssue(filename, deep, "", message)])
    safe = YAML(typ="safe", pure=True)
    try:
        data = safe.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError([SpecIssue(filename, line, "", f"YAML: {problem}")]) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise SpecError([SpecIssue(filename, 1, "", f"YAML: {first}")]) from None
    except (RecursionError, MemoryError):
        raise SpecError([SpecIssue(filename, 1, "", "YAML: nested too deeply")]) from None
    return data


def _marks(text: str) -> Any:
    """The round-trip tree that knows the line of every key; only read when there is a
    problem to place (it costs as much again as the values)."""
    try:
        return YAML(typ="rt").load(text)
    except (YAMLError, RecursionError, MemoryError):
        return None


class _Locator:
    """Maps an error location (a path of keys) to the line it is on."""

    def __init__(self, filename: str, load_marks: Callable[[], Any]) -> None:
        self.filename = filename
        self._load_marks = load_marks

    @functools.cached_property
    def marks(self) -> Any:
        return self._load_marks()

    def issue(self, loc: Loc, message: str) -> SpecIssue:
        line, column, path = self._find(loc)
        return SpecIssue(self.filename, line, path, message, column)

    def from_pydantic(self, exc: ValidationError) -> list[SpecIssue]:
        issues = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            message = _message(err)
            if err["type"] == "extra_forbidden" and loc:
                message = f"unknown key {loc[-1]!r}" + _did_you_mean(loc)
            issues.append(self.issue(loc, message))
        return sorted(issues, key=lambda i: i.line)

    def _find(self, loc: Loc) -> tuple[int, int, str]:
        node = self.marks
        line, column = 1, 0
        shown: list[str] = []
        descending = True
        for part in loc:
            if descending and isinstance(node, CommentedMap):
                if part in node:
                    key_line, key_col = node.lc.key(part)
                    line, column = key_line + 1, key_col + 1
                    node = node[part]
                    shown.append(str(part))
                    continue
                if node.get("type") == part:  # pydantic's discriminator tag: not a key
                    continue
                descending = False
            elif descending and isinstance(node, CommentedSeq) and isinstance(part, int):
                if 0 <= part < len(node):
                    item_line, item_col = node.lc.item(part)
                    line, column = item_line + 1, item_col + 1
                    node = node[part]
                    shown.append(f"[{part}]")
                    continue
                descending = False
            else:
                descending = False
            shown.append(f"[{part}]" if isinstance(part, int) else str(part))
        path = ".".join(shown).replace(".[", "[")
        return line, column, path


def _message(err: Any) -> str:
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        return f"unknown type {tag!r}; use one of: float, int, categorical, bool"
    if err["type"] == "union_tag_not_found":
        return "needs a `type:` (float, int, categorical or bool)"
    return msg[0].lower() + msg[1:] if msg else msg


def _did_you_mean(loc: Loc) -> str:
    key = str(loc[-1])
    parent = loc[:-1]
    generic = tuple(
        "*" if i == 1 and parent and parent[0] == "space" else p for i, p in enumerate(parent)
    )
    generic = tuple(p for p in generic if p not in ("float", "int", "categorical", "bool"))
    models = MODELS_BY_PATH.get(tuple(str(p) for p in generic))
    if not models:
        return ""
    vocabulary = sorted({f for m in models for f in m.model_fields})
    close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(vocabulary)})"
