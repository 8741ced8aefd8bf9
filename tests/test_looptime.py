"""The loop's own timing (kttui/runner/looptime.py): what the chaos bench prints."""

from __future__ import annotations

from kttui.runner.looptime import SLOW_S, LoopClock


def test_percentiles_slow_stretches_and_the_worst_are_counted() -> None:
    clock = LoopClock()
    for _ in range(198):
        clock.add("collect", 0.001, 0.001)
    clock.add("launch", 0.3, 0.01)  # waited: wall without CPU
    clock.add("status.json", 0.2, 0.0, nested=True)  # inside launch: its phase only
    clock.add("collect", 2.0, 0.05)
    s = clock.summary()
    assert s["stretches"] == 200 and s["slow"] == 2
    assert 1.0 <= s["p50_ms"] <= 1.25  # read to within a 25 % bucket, never below
    assert 300 <= s["p99_ms"] <= 375 and s["max_ms"] == 2000.0
    phases = s["phases"]
    assert next(iter(phases)) == "collect"  # the phase that held the loop longest first
    launch = {"count": 1, "wall_s": 0.3, "cpu_s": 0.01, "max_ms": 300.0, "slow": 1}
    assert phases["launch"] == launch
    assert phases["status.json"]["slow"] == 1
    assert [(w["phase"], w["wall_ms"]) for w in s["worst"][:2]] == [
        ("collect", 2000.0),
        ("launch", 300.0),
    ]


def test_a_phase_times_its_block_and_nested_phases_are_not_stretches() -> None:
    clock = LoopClock()
    with clock.phase("outer"), clock.phase("inner"):
        sum(range(10_000))
    s = clock.summary()
    assert s["stretches"] == 1 and set(s["phases"]) == {"outer", "inner"}
    assert s["phases"]["outer"]["wall_s"] >= s["phases"]["inner"]["wall_s"]
    assert SLOW_S == 0.05
