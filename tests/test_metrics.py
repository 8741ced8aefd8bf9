"""The metric-line policy and the file tail, on the inputs trials really produce."""

from __future__ import annotations

import math
import os
from pathlib import Path

from kttui.metricparse import EpochLog, LineParser
from kttui.tail import FileTail

PYKT_LINE = (
    "Epoch: 3, validauc: 0.7012, validacc: 0.6931, best epoch: 2, best auc: 0.7012, "
    "train loss: 0.5821, emb_type: qid, model: akt, save_dir: saved/x"
)


def feed_all(parser: LineParser, log: EpochLog, lines: list[str]) -> list[int]:
    new = []
    for line in lines:
        rec = log.feed(parser.parse(line))
        if rec is not None:
            new.append(rec[0])
    return new


def test_pykt_line() -> None:
    parsed = LineParser("pykt").parse(PYKT_LINE)
    assert parsed and parsed is not False
    assert parsed.epoch == 3
    assert parsed.values == {
        "validauc": 0.7012,
        "validacc": 0.6931,
        "best_epoch": 2.0,
        "best_auc": 0.7012,
        "train_loss": 0.5821,
    }
    assert LineParser("pykt").parse("loading data...") is None


def test_pykt_upstream_spelling_of_the_loss() -> None:
    line = (
        "Epoch: 12, validauc: 0.8215, validacc: 0.7713, best epoch: 10, best auc: 0.8229, "
        "loss: 0.4123, emb_type: qid, model: akt, save_dir: saved_model/x"
    )
    parsed = LineParser("pykt").parse(line)
    assert parsed and parsed is not False
    assert parsed.epoch == 12 and parsed.values["train_loss"] == 0.4123
    test_line = "            testauc: -1, testacc: -1, window_testauc: -1, window_testacc: -1"
    assert LineParser("pykt").parse(test_line) is None


def test_custom_regex() -> None:
    parser = LineParser("regex", r"epoch=(?P<epoch>\d+) val_loss=(?P<val_loss>[0-9.]+)")
    log = EpochLog("val_loss", "minimize")
    assert feed_all(parser, log, ["noise", "epoch=1 val_loss=0.50", "epoch=2 val_loss=0.41"]) == [
        1,
        2,
    ]
    assert log.value("best") == 0.41 and log.best_epoch() == 2


def test_jsonl_policy_bad_nan_repeat_missing_epoch_final() -> None:
    parser = LineParser("jsonl")
    log = EpochLog("auc", "maximize")
    lines = [
        '{"epoch": 1, "auc": 0.6}',
        "not json at all",
        '{"epoch": 2, "auc": NaN}',
        '{"epoch": 2, "auc": 0.9}',  # repeated epoch: ignored
        '{"auc": 0.7}',  # no epoch: previous + 1 = 3
        "[1, 2]",
        '{"epoch": "x"}',
        '{"final": {"auc": 0.65, "test_auc": 0.64}}',
    ]
    assert feed_all(parser, log, lines) == [1, 2, 3]
    assert log.bad_lines == 3
    assert log.duplicate_epochs == 1
    assert log.nonfinite == 1
    assert [e for e, _ in log.objective_series()] == [1, 3]  # NaN epoch not in the series
    assert log.value("best") == 0.65  # the final line wins
    log.final.clear()
    assert log.value("best") == 0.7 and log.value("last") == 0.7


def test_minimize_picks_lowest() -> None:
    log = EpochLog("loss", "minimize")
    parser = LineParser("jsonl")
    feed_all(
        parser,
        log,
        ['{"epoch": 1, "loss": 0.5}', '{"epoch": 2, "loss": 0.3}', '{"epoch": 3, "loss": 0.4}'],
    )
    assert log.value("best") == 0.3 and log.value("last") == 0.4


def test_tail_partial_line_truncation_and_recreation(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    tail = FileTail(path)
    assert tail.read_lines() == []  # missing file is not an error
    path.write_text('{"epoch": 1}\n{"epo')
    assert tail.read_lines() == ['{"epoch": 1}']
    with open(path, "a") as fh:
        fh.write('ch": 2}\n')
    assert tail.read_lines() == ['{"epoch": 2}']
    path.write_text('{"epoch": 1}\n')  # truncated and rewritten: start over
    assert tail.read_lines() == ['{"epoch": 1}']
    os.unlink(path)
    path.write_text('{"epoch": 9}\n{"epoch": 10}')  # re-created (new inode), last line open
    lines = tail.read_lines()
    assert lines == ['{"epoch": 9}']
    assert tail.drain() == ['{"epoch": 10}']
    assert tail.resets >= 2


def test_epoch_reported_once_across_recreation(tmp_path: Path) -> None:
    parser, log = LineParser("jsonl"), EpochLog("auc")
    path = tmp_path / "m.jsonl"
    tail = FileTail(path)
    path.write_text('{"epoch": 1, "auc": 0.5}\n{"epoch": 2, "auc": 0.6}\n')
    first = feed_all(parser, log, tail.read_lines())
    os.unlink(path)
    path.write_text(
        '{"epoch": 1, "auc": 0.5}\n{"epoch": 2, "auc": 0.6}\n{"epoch": 3, "auc": 0.7}\n'
    )
    again = feed_all(parser, log, tail.read_lines())
    assert first == [1, 2] and again == [3]
    assert not math.isnan(log.value("best") or math.nan)
