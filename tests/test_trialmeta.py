"""Trial metadata as one typed object, stored under the keys old sessions already hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from kttui.trialmeta import OUTCOME, TrialMeta

# What runners before TrialMeta wrote (the keys spelled out, as they were in the code).
OLD_ATTRS: dict[str, Any] = {
    "kttui:point": {"x": 0.5, "model": "akt"},
    "kttui:retry_of": 3,
    "kttui:attempt": 2,
    "kttui:seed": 42,
    "kttui:group": 1,
    "kttui:tier": 1,
    "kttui:promoted_from": 0,
    "kttui:config": {"x": 0.5, "model": "akt", "epochs": 20},
    "kttui:counted": True,
    "kttui:slot": "gpu0#1",
    "kttui:reason": "exit code 1",
    "kttui:exit_code": 1,
    "kttui:epochs": 7,
    "kttui:final": {"test_auc": 0.79},
    "kttui:duration_s": 12.345,
    "kttui:bad_lines": 2,
}


def _stored(tmp_path: Path, attrs: dict[str, Any]) -> dict[str, Any]:
    """The user attrs a trial has after a round trip through a real SQLite study."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    study = optuna.create_study(storage=url, study_name="old", load_if_exists=True)
    trial = study.ask()
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return dict(optuna.load_study(study_name="old", storage=url).trials[-1].user_attrs)


def test_an_old_sessions_attrs_round_trip(tmp_path: Path) -> None:
    attrs = {**_stored(tmp_path, OLD_ATTRS), "user:own": "kept out"}
    meta = TrialMeta.from_attrs(attrs)
    assert (meta.retry_of, meta.attempt, meta.seed, meta.tier, meta.slot) == (3, 2, 42, 1, "gpu0#1")
    assert meta.config == {"x": 0.5, "model": "akt", "epochs": 20} and meta.counted is True
    assert meta.to_attrs() == OLD_ATTRS  # same keys, same values; the user's own are not ours
    again = _stored(tmp_path, meta.to_attrs())
    assert TrialMeta.from_attrs(again) == meta


def test_flags_and_markers_of_skipped_trials_round_trip(tmp_path: Path) -> None:
    old = {"kttui:unused": True, "kttui:infeasible": "a > b", "kttui:reuse_of": 4}
    old |= {"kttui:enqueued": True}
    meta = TrialMeta.from_attrs(_stored(tmp_path, old))
    assert (meta.unused, meta.infeasible, meta.reuse_of, meta.enqueued) == (True, "a > b", 4, True)
    assert meta.to_attrs() == old


def test_nothing_recorded_is_nothing_written_unless_named() -> None:
    assert TrialMeta().to_attrs() == {} and TrialMeta().is_empty()
    ended = TrialMeta(reason="killed by SIGKILL", epochs=0, bad_lines=0, final={}).to_attrs(OUTCOME)
    # an ending without an exit code still says so, as runners always wrote it
    assert ended["kttui:exit_code"] is None and set(ended) == {f"kttui:{k}" for k in OUTCOME}


def test_identity_is_what_a_retry_keeps() -> None:
    meta = TrialMeta.from_attrs(OLD_ATTRS)
    assert meta.identity().to_attrs() == {
        "kttui:seed": 42,
        "kttui:group": 1,
        "kttui:tier": 1,
        "kttui:promoted_from": 0,
    }
    assert TrialMeta(config={"x": 1}, counted=True).identity().is_empty()


def test_a_number_stored_as_text_or_float_reads_as_an_int() -> None:
    meta = TrialMeta.from_attrs({"kttui:tier": 2.0, "kttui:attempt": "1"})
    assert meta.tier == 2 and meta.attempt == 1


@pytest.mark.parametrize("bad", ["two", [1]])
def test_a_corrupt_number_is_a_clear_error(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        TrialMeta.from_attrs({"kttui:retry_of": bad})
