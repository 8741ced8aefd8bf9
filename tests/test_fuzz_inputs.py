"""Property-based tests and fuzzing of everything that reads other people's input.

Specs, spec expressions, metric lines, followed files and the three importers get
generated, truncated and hostile input. The properties: no exception but the
module's own error escapes, every spec rejection names file, line and field,
every case stays under 1 s and 200 MB, and bad metric input is counted.
"""

from __future__ import annotations

import json
import math
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kttui.expr import ExprError, parse
from kttui.importers import Imported, ImportError_
from kttui.importers.csv_source import read_csv
from kttui.importers.dirs_source import read_dirs
from kttui.importers.optuna_source import read_study
from kttui.metricparse import EpochLog, LineParser
from kttui.specload import SpecError, load_spec_text
from kttui.tail import MAX_LINE, FileTail

#: Seeded and without an example database: the same cases on every run and in CI. The
#: 1 s bound is checked in CPU time by :func:`bounded`, not by a wall-clock deadline.
FAST = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MB = 1 << 20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _current_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / MB


@contextmanager
def bounded(seconds: float = 1.0, megabytes: float = 200.0) -> Iterator[None]:
    """Each generated case: under ``seconds``, and under ``megabytes`` above the memory in
    use when it started. The process's peak (ru_maxrss) is compared only when the case
    set a new one, so what Hypothesis itself allocated between cases does not count;
    tracemalloc would slow every case tenfold."""
    peak_before, current_before = _peak_mb(), _current_mb()
    start = time.process_time()  # CPU time: seven other jobs share this machine's 2 cores
    yield
    elapsed = time.process_time() - start
    assert elapsed < seconds, f"{elapsed:.2f} s of CPU"
    peak_after = _peak_mb()
    if peak_after > peak_before:
        assert peak_after - current_before < megabytes, f"{peak_after - current_before:.0f} MB"


# ------------------------------------------------------------------ expressions
HOSTILE_NUMBERS = [0, 1, -1, 2, 64, 65, 2**40, 2**64, 10**300, 1e308, -1e308, 1e-300, 0.5]
atoms = st.one_of(
    st.sampled_from(["x", "y", "s", "t", "True", "False", "zz"]),
    st.sampled_from(HOSTILE_NUMBERS).map(repr),
    st.integers().map(str),
    st.floats(allow_nan=False).map(repr),
    st.text(alphabet="ab'%`\\", max_size=5).map(repr),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(
        children,
        st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", "==", "in", "and", "or"]),
        children,
    ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    unary = st.tuples(st.sampled_from(["-", "+", "not "]), children).map("".join)
    call = st.tuples(
        st.sampled_from(["min", "max", "round", "abs", "int", "float", "sqrt", "log", "exp"]),
        st.lists(children, min_size=1, max_size=3),
    ).map(lambda t: f"{t[0]}({', '.join(t[1])})")
    cond = st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})")
    tup = st.lists(children, min_size=1, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ",)")
    return st.one_of(binary, unary, call, cond, tup)


expressions = st.one_of(
    st.recursive(atoms, _combine, max_leaves=40),
    st.text(max_size=80),  # anything at all, including what Python cannot parse
    st.integers(1, 3000).map(lambda n: "-" * n + "x"),
    st.integers(1, 3000).map(lambda n: "+".join(["x"] * n)),
    st.integers(1, 300).map(lambda n: "(" * n + "x" + ")" * n),
)
ENV = {"x": 3, "y": 0.5, "s": "ab", "t": (1, 2)}


@settings(FAST, max_examples=1000)
@given(expressions)
def test_expressions_never_escape_their_bounds(source: str) -> None:
    with bounded():
        try:
            expr = parse(source)
        except ExprError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 400
            return
        try:
            value = expr.evaluate(ENV)
        except ExprError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 400
            return
    if isinstance(value, int):
        assert value.bit_length() <= 4096
    if isinstance(value, str | tuple):
        assert len(value) <= 10_000


# ------------------------------------------------------------------ specs
BASE: dict[str, Any] = {
    "name": "fuzz",
    "objective": {"metric": "score", "direction": "maximize"},
    "command": ["python", "train.py", "{x}"],
    "space": {
        "x": {"type": "float", "low": 0.0, "high": 1.0},
        "n": {"type": "int", "low": 1, "high": 8},
        "c": {"type": "categorical", "choices": ["a", "b"]},
    },
    "strategy": {"sampler": "random", "n_trials": 10},
}
FIELDS = [
    ("name",),
    ("objective", "metric"),
    ("objective", "direction"),
    ("command",),
    ("command", 2),
    ("space", "x", "low"),
    ("space", "x", "high"),
    ("space", "x", "step"),
    ("space", "x", "log"),
    ("space", "x", "type"),
    ("space", "n", "low"),
    ("space", "n", "high"),
    ("space", "n", "step"),
    ("space", "c", "choices"),
    ("space", "zz"),
    ("fixed", "f"),
    ("derived", "d"),
    ("constraints",),
    ("strategy", "sampler"),
    ("strategy", "n_trials"),
    ("strategy", "seed"),
    ("metrics", "format"),
    ("metrics", "pattern"),
    ("resources", "gpus"),
    ("resources", "retries"),
    ("pruner", "type"),
    ("stop_when", "target"),
    ("repeats", "seeds"),
    ("budgets",),
    ("bogus",),
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([1e23, -1e23, 1e29, 1e308, 1e-300, 2**53 + 1, 2**64, 0, -1]),
    st.floats(),
    st.text(max_size=12),
    expressions,
)
values = st.recursive(
    scalars,
    lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.text(max_size=6), c, max_size=3)
    ),
    max_leaves=8,
)


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(part, {})
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return
    if isinstance(node, dict) or (
        isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node)
    ):
        node[path[-1]] = value


#: libyaml's emitter (PyYAML comes with Optuna): ruamel's pure-Python one took a third
#: of the time of 1 000 generated specs. Block style, as people write specs.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False)


BASE_TEXT = _dump(BASE)


@st.composite
def spec_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["mutate", "mutate", "mutate", "truncate", "noise"]))
    if kind == "truncate":
        return BASE_TEXT[: draw(st.integers(0, len(BASE_TEXT)))]
    if kind == "noise":
        return draw(st.text(alphabet=" :-[]{}\n'\"#&*!|>%@`abcx01.e", max_size=200))
    data = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 4))):
        _set(data, draw(st.sampled_from(FIELDS)), draw(values))
    try:
        return _dump(data)
    except Exception:  # a value YAML cannot write (e.g. a huge nesting): use JSON, also YAML
        return json.dumps(data, indent=1, default=str)


@settings(FAST, max_examples=1000)
@given(spec_texts())
def test_generated_specs_load_or_name_file_line_and_field(text: str) -> None:
    with bounded():
        try:
            load_spec_text(text, "fuzz.yaml")
        except SpecError as exc:
            issues = exc.issues
        else:
            return
    assert issues
    for issue in issues:
        shown = str(issue)
        assert "\n" not in shown
        assert shown.startswith(f"fuzz.yaml:{issue.line}: ") and issue.line >= 1, shown
        whole_file = issue.message.startswith("YAML") or "must be a mapping" in issue.message
        assert issue.path or whole_file, shown


# ------------------------------------------------------------------ metric lines
LINE_PIECES = st.sampled_from(
    [
        '{"epoch": ',
        "Infinity",
        "NaN",
        "-1e999",
        "1" * 400,
        '"score": ',
        "}",
        "{",
        "[",
        "]",
        ",",
        " ",
        "\x00",
        "\x1b[2J",
        "\udcff",
        "true",
        "null",
        '"epoch"',
        "0.5",
        "\n",
    ]
)
jsonl_lines = st.one_of(
    st.text(max_size=200),
    st.lists(LINE_PIECES, max_size=30).map("".join),
    st.integers(1, 50_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 50_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
)


@settings(FAST, max_examples=200)
@given(st.lists(jsonl_lines, max_size=20))
def test_jsonl_parser_counts_every_bad_line(lines: list[str]) -> None:
    parser, log = LineParser("jsonl"), EpochLog("score")
    bad = 0
    with bounded():
        for line in lines:
            parsed = parser.parse(line)
            bad += parsed is False
            assert parsed is not None or not line.strip()
            log.feed(parsed)
    assert log.bad_lines == bad


@settings(FAST, max_examples=150)
@given(st.lists(st.one_of(st.text(max_size=120), LINE_PIECES), max_size=20))
def test_regex_and_pykt_parsers_never_raise(lines: list[str]) -> None:
    parsers = [
        LineParser("pykt"),
        LineParser("regex", r"epoch (?P<epoch>\S+) score (?P<score>\S+)"),
        LineParser("regex", r"(?P<score>[-+0-9.eEinfa]+)"),
    ]
    for parser in parsers:
        log = EpochLog("score")
        for line in lines:
            log.feed(parser.parse(line))
            log.feed(parser.parse(f"epoch {line} score {line}"))
        log.value("best")


@settings(FAST, max_examples=80)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.integers(0, 3 * MB).map(lambda n: b"y" * n),
            st.just(b"\n"),
            st.just(b'{"epoch": 1, "score": 0.5}\n'),
        ),
        max_size=8,
    )
)
def test_tail_gives_every_line_once_in_order_however_it_is_written(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[bytes]
) -> None:
    path = tmp_path_factory.mktemp("tail") / "out.log"
    path.write_bytes(b"")
    tail = FileTail(path)
    got: list[str] = []
    with open(path, "ab") as fh:
        for piece in pieces:
            fh.write(piece)
            fh.flush()
            got += tail.read_lines()
    got += tail.drain()
    data = b"".join(pieces)
    want = data.split(b"\n")
    if want and want[-1] == b"":
        want.pop()
    assert len(got) == len(want)
    for line, raw in zip(got, want, strict=True):
        if len(raw) <= MAX_LINE:
            assert line == raw.decode("utf-8", errors="replace")
        else:
            assert line.endswith("[line over 1 MB cut]") and len(line) < 8192


# ------------------------------------------------------------------ importers
GOOD_CSV = (
    "name,lr,layers,opt,score,state\na,0.1,2,adam,0.71,complete\nb,0.01,4,sgd,0.74,complete\n"
)
GOOD_CSV += "c,0.001,2,adam,,fail\nd,0.05,3,sgd,0.69,complete\n"
CSV_PIECES = st.sampled_from(
    [
        ",",
        "\n",
        '"',
        "nan",
        "inf",
        "-Infinity",
        "1e999",
        "9" * 400,
        "lr",
        "score",
        "true",
        "x",
        "0.5",
        "\r\n",
        "\x00",
        "\ufeff",
        "state",
        "pruned",
        " ",
    ]
)
csv_texts = st.one_of(
    st.integers(0, len(GOOD_CSV)).map(lambda n: GOOD_CSV[:n]),
    st.lists(CSV_PIECES, max_size=60).map(lambda xs: "lr,score\n" + "".join(xs)),
    st.lists(CSV_PIECES, max_size=60).map("".join),
    st.text(max_size=300),
)


def _check_imported(imp: Imported) -> None:
    for t in imp.trials:
        for value in t.params.values():
            assert not (isinstance(value, float) and not math.isfinite(value))


@settings(FAST, max_examples=150)
@given(csv_texts, st.sampled_from([None, ["lr"], ["lr", "opt"]]))
def test_csv_importer_fuzz(
    tmp_path_factory: pytest.TempPathFactory, text: str, params: list[str] | None
) -> None:
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    with bounded():
        try:
            imp = read_csv(path, objective="score", params=params)
        except ImportError_ as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc).strip()
            return
    _check_imported(imp)


json_texts = st.one_of(
    st.just('{"lr": 0.1, "layers": 2}').flatmap(
        lambda s: st.integers(0, len(s)).map(lambda n: s[:n])
    ),
    st.integers(1, 50_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(1, 50_000).map(lambda n: '{"a":' + "[" * n + "]" * n + "}"),
    st.dictionaries(
        st.text(max_size=5), scalars.filter(lambda v: not isinstance(v, str)), max_size=4
    ).map(lambda d: json.dumps(d)),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
)


@settings(FAST, max_examples=80)
@given(st.lists(json_texts, min_size=1, max_size=3), st.lists(csv_texts, min_size=1, max_size=3))
def test_dirs_importer_fuzz(
    tmp_path_factory: pytest.TempPathFactory, configs: list[str], logs: list[str]
) -> None:
    root = tmp_path_factory.mktemp("dirs")
    for i, config in enumerate(configs):
        folder = root / f"exp{i}"
        folder.mkdir()
        (folder / "config.json").write_text(config)
        (folder / "eval_results.json").write_text(configs[-1 - i])
        (folder / "training_log.csv").write_text(logs[i % len(logs)])
    with bounded():
        try:
            imp = read_dirs(root, objective="a")
        except ImportError_ as exc:
            assert "\n" not in str(exc).strip()
            return
    _check_imported(imp)


@pytest.fixture(scope="module")
def optuna_db(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    import optuna

    path = tmp_path_factory.mktemp("optuna") / "s.db"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{path}")
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=5)
    return path.read_bytes()


@settings(FAST, max_examples=15, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_optuna_importer_fuzz(
    tmp_path_factory: pytest.TempPathFactory, optuna_db: bytes, data: st.DataObject
) -> None:
    raw = data.draw(
        st.one_of(
            st.integers(0, len(optuna_db)).map(lambda n: optuna_db[:n]),
            st.tuples(st.integers(0, len(optuna_db) - 1), st.binary(min_size=1, max_size=64)).map(
                lambda t: optuna_db[: t[0]] + t[1] + optuna_db[t[0] + len(t[1]) :]
            ),
            st.binary(max_size=2000),
        )
    )
    path = tmp_path_factory.mktemp("db") / "s.db"
    path.write_bytes(raw)
    try:
        read_study(f"sqlite:///{path}")
    except ImportError_ as exc:
        assert "\n" not in str(exc).strip() or "sqlite" in str(exc)
