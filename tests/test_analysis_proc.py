"""The analysis process: calls run in a real child; errors and closing raise AnalysisError."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kttui.service.analysis_proc import AnalysisError, AnalysisProcess


@pytest.fixture
def proc() -> Iterator[AnalysisProcess]:
    p = AnalysisProcess(name="kttui-analysis-test")
    yield p
    p.close()


def test_a_call_runs_in_a_child_from_the_callers_directory(
    proc: AnalysisProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = proc.call(os.getpid)
    assert child != os.getpid() and child == proc.pid
    assert proc.call(os.getpid) == child  # kept for the next call
    monkeypatch.chdir(tmp_path)  # relative session paths resolve where the caller is
    assert proc.call(os.getcwd) == str(tmp_path)


def test_an_error_in_the_child_is_one_line_and_the_child_lives_on(proc: AnalysisProcess) -> None:
    with pytest.raises(AnalysisError, match="ValueError: invalid literal"):
        proc.call(int, "not a number")
    assert proc.call(int, "7") == 7


def test_close_or_cancel_ends_a_long_call_at_once(proc: AnalysisProcess) -> None:
    proc.call(os.getpid)  # started
    threading.Timer(0.5, proc.close).start()
    t0 = time.monotonic()
    with pytest.raises(AnalysisError):
        proc.call(time.sleep, 60)
    assert time.monotonic() - t0 < 30
    assert proc.pid is None
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    t0 = time.monotonic()
    with pytest.raises(AnalysisError, match="cancelled"):
        proc.call(time.sleep, 60, cancelled=stop.is_set)
    assert time.monotonic() - t0 < 30
    assert proc.call(int, "3") == 3  # a new child on the next call


def test_a_dead_child_is_an_error_then_a_new_child(proc: AnalysisProcess) -> None:
    first = proc.call(os.getpid)
    os.kill(first, 9)
    with pytest.raises(AnalysisError, match="ended"):
        proc.call(os.getpid)
    assert proc.call(os.getpid) not in (first, os.getpid())
