"""Hostile input, finding by finding (issue 12: 2, 5, 9, 10): each one a clear error or a
counted bad line, never a traceback, a hang or a full memory."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from kttui.expr import ExprError, parse
from kttui.importers import ImportError_, sweep_stale, write_session
from kttui.importers.csv_source import read_csv
from kttui.importers.dirs_source import read_dirs
from kttui.metricparse import EpochLog, LineParser
from kttui.safetext import format_value, md_code, md_escape, one_line
from kttui.session import list_sessions
from kttui.specload import SpecError, load_spec, load_spec_text
from kttui.tail import KEEP, FileTail
from tests.conftest import kttui, wait_for, write_spec

HEADER = """\
name: hostile
objective: {metric: score}
command: [python, train.py, "{x}"]
"""


# ---------------------------------------------------------------- finding 2
def test_metric_lines_that_used_to_crash_the_runner_are_counted() -> None:
    parser, log = LineParser("jsonl"), EpochLog("score")
    hostile = [
        '{"epoch": Infinity, "score": 1}',
        '{"epoch": -Infinity}',
        '{"epoch": NaN}',
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        '{"epoch": "x"}',
        '{"epoch": true}',
        '{"epoch": 1e400}',
        "\x00\xff\x1b[31m",
    ]
    for line in hostile:
        assert log.feed(parser.parse(line)) is None
    assert log.bad_lines == len(hostile)
    # an integer too large for a float is an infinite value, not an OverflowError
    assert log.feed(parser.parse('{"epoch": 1, "score": ' + "9" * 400 + "}")) == (
        1,
        {"score": float("inf")},
    )
    regex = LineParser("regex", r"ep (?P<epoch>\S+) score (?P<score>\S+)")
    assert regex.parse("ep inf score 1") is False
    assert regex.parse("ep nan score 1") is False


def test_a_metric_line_after_a_line_over_1_mb_is_read_while_running_and_at_exit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.jsonl"
    long = b"x" * (3 << 20)
    path.write_bytes(long)  # no newline yet: the trial is still writing it
    tail = FileTail(path)
    for _ in range(5):
        assert tail.read_lines() == []
    assert len(tail.partial) <= KEEP  # memory stays bounded however long the line
    with open(path, "ab") as fh:
        fh.write(b"\n" + json.dumps({"epoch": 1, "score": 0.5}).encode() + b"\n")
    lines = wait_for(lambda: tail.read_lines() or None, timeout=5, interval=0)
    assert lines[0].endswith("[line over 1 MB cut]") and len(lines[0]) < KEEP + 64
    assert json.loads(lines[1]) == {"epoch": 1, "score": 0.5}

    # at exit: the final drain reads past a 1 MB chunk without a newline
    path2 = tmp_path / "m2.jsonl"
    path2.write_bytes(long + b"\n" + b'{"epoch": 2, "score": 0.7}')
    drained = FileTail(path2).drain()
    assert drained[-1] == '{"epoch": 2, "score": 0.7}'
    assert len(drained) == 2


TRIAL = """\
import json, os
with open(os.environ["KTTUI_METRICS"], "a") as fh:
    fh.write('{"epoch": Infinity, "score": 1}\\n')
    fh.write("[" * 100000 + "]" * 100000 + "\\n")
    fh.write("y" * (2 << 20))
    fh.flush()
    fh.write("\\n" + json.dumps({"epoch": 1, "score": 0.25}) + "\\n")
    fh.write("z" * (2 << 20) + "\\n" + json.dumps({"epoch": 2, "score": 0.5}))
"""


def test_the_runner_survives_hostile_metric_output(tmp_path: Path, store: Path) -> None:
    prog = tmp_path / "hostile.py"
    prog.write_text(TRIAL)
    spec = write_spec(
        tmp_path / "s.yaml",
        command=["{python}", str(prog)],
        strategy={"sampler": "random", "n_trials": 1, "seed": 0},
    )
    proc = kttui("run", str(spec), "--foreground", "--sessions-dir", str(store))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (session,) = list_sessions(store)
    (status,) = session.trial_statuses()
    assert status["state"] == "complete"
    assert status["value"] == 0.5  # both epochs after the long lines were read
    assert status["bad_lines"] >= 4


# ---------------------------------------------------------------- finding 5
HOSTILE_SPECS = {
    "huge power": ("constraints: ['((((9**64)**64)**64)**64)**64 > x']", "constraints[0]"),
    "repetition": ("derived: {s: \"'a' * 2**40\"}", "derived.s"),
    "power of a param": ("derived: {s: 'x ** (64 ** 64)'}", "derived.s"),
    "5000-term sum": ("derived: {s: '" + "+".join(["x"] * 5000) + "'}", "derived.s"),
    "5000 minuses": ("derived: {s: '" + "-" * 5000 + "x'}", "derived.s"),
    "900 minuses": ("derived: {s: '" + "-" * 900 + "x'}", "derived.s"),
    "tiny step": (None, "space.x.step"),
    "int range 1e23": (None, "space.n.low"),
    "n_trials 1e29": ("strategy: {n_trials: 1e29}", "strategy.n_trials"),
    "n_trials true": ("strategy: {n_trials: true}", "strategy.n_trials"),
    "huge grid": (None, "strategy.sampler"),
}


def _hostile_text(case: str) -> str:
    extra, _ = HOSTILE_SPECS[case]
    space = "space:\n  x: {type: float, low: 0.0, high: 1.0}\n"
    if case == "tiny step":
        space = "space:\n  x: {type: float, low: 0.0, high: 1.0, step: 1.0e-300}\n"
    if case == "int range 1e23":
        space = "space:\n  x: {type: float, low: 0.0, high: 1.0}\n"
        space += "  n: {type: int, low: -1e23, high: 1e23}\n"
    if case == "huge grid":
        space = "space:\n  x: {type: int, low: 0, high: 100000000}\n"
        extra = "strategy: {sampler: grid}"
    strategy = extra if extra and extra.startswith("strategy") else "strategy: {n_trials: 5}"
    other = extra if extra and not extra.startswith("strategy") else ""
    return HEADER + space + strategy + "\n" + (other + "\n" if other else "")


@pytest.mark.parametrize("case", sorted(HOSTILE_SPECS))
def test_hostile_specs_are_one_line_errors_in_well_under_a_second(
    tmp_path: Path, case: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(_hostile_text(case))
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        load_spec(path)
    elapsed = time.perf_counter() - start
    tracemalloc.start()  # a second run for memory: tracemalloc slows the first tenfold
    with pytest.raises(SpecError):
        load_spec(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 1.0, f"{case}: {elapsed:.2f} s"
    assert peak < 50e6, f"{case}: {peak / 1e6:.0f} MB"
    field = HOSTILE_SPECS[case][1]
    issues = info.value.issues  # the problem, and nothing it caused elsewhere
    assert all(i.path.split(".")[:2] == field.split(".")[:2] for i in issues), issues
    issue = next(i for i in issues if i.path == field)
    line = str(issue)
    assert "\n" not in line and len(line) < 300
    assert line.startswith(f"{path}:{issue.line}: {field}: ") and issue.line > 1


def test_yaml_nested_20000_deep_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    for text in (HEADER + "fixed: {a: " + "[" * 20000 + "]" * 20000 + "}\n", "- " * 20000 + "1\n"):
        path = tmp_path / "deep.yaml"
        path.write_text(text)
        start = time.perf_counter()
        with pytest.raises(SpecError) as info:
            load_spec(path)
        assert time.perf_counter() - start < 2.0
        assert str(info.value.issues[0]).startswith(f"{path}:")
        proc = kttui("validate", str(path))
        assert proc.returncode != 0 and "Traceback" not in proc.stderr


def test_many_choices_on_one_line_load_in_linear_time(tmp_path: Path) -> None:
    def load(n: int) -> float:
        choices = ", ".join(str(i) for i in range(n))
        text = HEADER + f"space:\n  x: {{type: categorical, choices: [{choices}]}}\n"
        text += "strategy: {n_trials: 5}\n"
        start = time.perf_counter()
        loaded = load_spec_text(text, "many.yaml")
        assert loaded.space.size() == n
        return time.perf_counter() - start

    # ten times the choices, about ten times the time (the duplicate check was quadratic);
    # bench/spec_load.py prints the 200 000-choice figure
    small, big = load(2_000), load(20_000)
    assert big < 25 * max(small, 0.02), f"2k: {small:.2f} s, 20k: {big:.2f} s"


def test_evaluator_bounds() -> None:
    for source in (
        "'a' * 2**40",
        "9**64**64",
        "(1,) * 100000",
        "round(5, -10**10)",
        "'%999999999d' % 1",
    ):
        with pytest.raises(ExprError):
            parse(source).evaluate({})
    expr = parse("x * y")
    with pytest.raises(ExprError, match="not allowed"):
        expr.evaluate({"x": "ab", "y": 10**9})
    with pytest.raises(ExprError, match="bits"):
        expr.evaluate({"x": 2**4000, "y": 2**4000})
    assert parse("x ** 2 + 1").evaluate({"x": 3}) == 10


def test_every_problem_at_once_schema_and_semantic(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        name: both
        objective: {metric: score}
        command: [python, train.py, "{nope}"]
        space:
          x: {type: float, low: 0.0, high: 1.0}
          y: {type: int, low: 0, high: true}
        constraints: ['x +* 2']
        strategy: {sampler: random, n_trials: true}
        """
    )
    with pytest.raises(SpecError) as info:
        load_spec_text(text, "both.yaml")
    shown = {(i.path, i.line) for i in info.value.issues}
    assert ("strategy.n_trials", 8) in shown  # schema
    assert ("space.y.high", 6) in shown  # schema
    assert ("command[2]", 3) in shown  # semantic: unknown placeholder
    assert ("constraints[0]", 7) in shown  # semantic: bad expression
    # no complaint about {y}: its param is set aside, not forgotten
    col = next(i.column for i in info.value.issues if i.path == "strategy.n_trials")
    assert text.splitlines()[7][col - 1 :].startswith("n_trials")


# ---------------------------------------------------------------- finding 9
def test_safetext_escapes_and_compacts() -> None:
    assert "\x1b" not in one_line("a\x1b[2J\x1b]0;t\x07b\x07\nc") and "\n" not in one_line("a\nb")
    escaped = md_escape("`x` **b** <script>alert(1)</script>")
    assert "<" not in escaped and "\\*\\*" in escaped and "\\`" in escaped
    assert md_code("a`b") == "`` a`b ``"
    assert format_value(1e308) == "1e+308"
    assert len(format_value(10**300)) < 12
    assert format_value("a\x1b[31mred\x07") == "ared"


def _hostile_session(tmp_path: Path) -> Path:
    table = tmp_path / "hostile.csv"
    with open(table, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["name", "opt", "score"])
        out.writerow(["a\x1b[31m\x07", "`code` **bold** <script>alert(1)</script>", 0.5])
        out.writerow(["b", "plain", 1e308])
        out.writerow(["c", "x|y", 0.7])
    store = tmp_path / "store"
    write_session(store, read_csv(table, objective="score", params=["name", "opt"]))
    return store


def test_report_and_csv_export_carry_no_control_or_markup(tmp_path: Path) -> None:
    store = _hostile_session(tmp_path)
    (session,) = list_sessions(store)
    out = tmp_path / "out"
    proc = kttui("report", session.id, "--sessions-dir", str(store), "--csv-dir", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = (session.path / "report.md").read_text()
    assert "\x1b" not in report and "\x07" not in report
    rendered = re.sub(r"(`{3,})[^\n]*\n.*?\n\1", "", report, flags=re.DOTALL)  # code blocks
    rendered = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", rendered)  # code spans: literal text
    assert "<script>" not in rendered
    assert "**bold**" not in rendered and "`code`" not in rendered
    assert "&lt;script&gt;" in rendered and "\\*\\*bold\\*\\*" in rendered
    assert "1e+308" in report and "0" * 50 not in report
    assert "Warning" not in proc.stderr  # numpy's overflow in the spread of 1e308
    for path in out.glob("*.csv"):
        data = path.read_text()
        assert "\x1b" not in data and "\x07" not in data, path.name


def test_an_extreme_objective_keeps_sessions_and_status_narrow(tmp_path: Path) -> None:
    store = _hostile_session(tmp_path)
    (session,) = list_sessions(store)
    for args in (["sessions"], ["status", session.id]):
        proc = kttui(*args, "--sessions-dir", str(store))
        assert proc.returncode == 0, proc.stderr
        assert "1e+308" in proc.stdout
        widths = [len(line) for line in proc.stdout.splitlines() if "path:" not in line]
        assert max(widths) < 120, proc.stdout  # was 397 characters


# ---------------------------------------------------------------- finding 10
def test_duplicate_columns_and_nonfinite_params_are_rejected(tmp_path: Path) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text("lr,lr,score\n0.1,0.2,0.5\n0.3,0.4,0.6\n")
    with pytest.raises(ImportError_, match=r"dup.csv:1: column 'lr' appears twice"):
        read_csv(dup, objective="score")
    for bad in ("nan", "inf", "-Infinity"):
        table = tmp_path / "nan.csv"
        table.write_text(f"lr,score\n0.1,0.5\n{bad},0.6\n")
        with pytest.raises(ImportError_, match=r"nan.csv:3: column 'lr'.*not a finite"):
            read_csv(table, objective="score")
    root = tmp_path / "dirs"
    for i, lr in enumerate(["0.1", "NaN"]):
        (root / f"e{i}").mkdir(parents=True)
        (root / f"e{i}" / "config.json").write_text(f'{{"lr": {lr}}}')
    with pytest.raises(ImportError_, match=r"config\.json: 'lr' is nan"):
        read_dirs(root)


IMPORT = [sys.executable, "-m", "kttui", "import", "csv"]


def _import_until_caught(table: Path, store: Path, sig: signal.Signals) -> str:
    """Start an import and signal it while its hidden folder exists; stderr.

    The import takes about a second: when the signal lands after the rename (the
    session is complete) the run does not count, its session is removed and the
    import is started again."""
    for _ in range(20):
        proc = subprocess.Popen(
            [*IMPORT, str(table), "--objective", "score", "--sessions-dir", str(store)],
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(
            lambda p=proc: list(store.glob(".import-*")) or p.poll() is not None,
            timeout=120,
            interval=0.005,
        )
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        finished = list_sessions(store)
        if proc.returncode != 0 and not finished:
            return err
        for session in finished:  # the signal came after the rename: again
            shutil.rmtree(session.path)
    raise AssertionError(f"{sig!r} never reached the import while it wrote")


def test_a_killed_import_leaves_no_hidden_folder(tmp_path: Path) -> None:
    table = tmp_path / "big.csv"
    with open(table, "w") as fh:
        fh.write("lr,layers,score\n")
        for i in range(300_000):
            fh.write(f"{i * 1e-6},{i % 7},{(i % 97) / 100}\n")
    store = tmp_path / "store"
    for sig in (signal.SIGTERM, signal.SIGINT):
        err = _import_until_caught(table, store, sig)
        assert "Traceback" not in err
        assert not list(store.glob(".import-*")), sig
        assert not list_sessions(store)
    # kill -9 leaves the folder; the next import (a small one) sweeps it
    _import_until_caught(table, store, signal.SIGKILL)
    assert list(store.glob(".import-*"))
    small = tmp_path / "small.csv"
    small.write_text("lr,score\n0.1,0.5\n0.2,0.6\n")
    done = kttui("import", "csv", str(small), "--objective", "score", "--sessions-dir", str(store))
    assert done.returncode == 0, done.stderr
    assert not list(store.glob(".import-*"))
    assert len(list_sessions(store)) == 1
    # a folder left by a process killed outright is swept by the next import
    stale = store / ".import-999999999-abc"
    (stale / "trials").mkdir(parents=True)
    sweep_stale(store)
    assert not stale.exists()
    mine = store / f".import-{os.getpid()}-abc"
    mine.mkdir()
    sweep_stale(store)
    assert mine.exists()  # a live import's folder is left alone
