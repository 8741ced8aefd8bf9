"""Turning sampler asks into configs worth running: feasible, new, or none at all.

The proposer sits between Optuna and the runner. It asks the study, fills in
the space's params, rejects infeasible configs (told FAIL, never run), tells a
repeat of a launched config its known result instead of running it again, nudges
a sampler stuck on repeats towards an unevaluated point of a finite space, and
says when the space is exhausted. The runner and ``bench/search.py`` share it, so
the benchmark measures exactly what a sweep does.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from kttui.space import Infeasible, SearchSpace
from kttui.strategies import suggest
from kttui.trialmeta import TrialMeta

MAX_CONSECUTIVE_INFEASIBLE = 200
MAX_CONSECUTIVE_DUPLICATES = 100
DUPLICATES_BEFORE_FILL = 3
MAX_FILL_ENUMERATION = 100_000
ASKS_PER_CALL = 8

Key = tuple[tuple[str, Any], ...]


@dataclass
class Prepared:
    trial: optuna.Trial
    params: dict[str, Any]
    config: dict[str, Any]
    retry_of: int | None
    attempt: int
    key: Key
    counted: bool = True  # a new config (not a retry, a further seed or a promotion)
    seed: int | None = None
    group: int | None = None
    tier: int | None = None
    promoted_from: int | None = None

    def identity(self) -> TrialMeta:
        """What a retry of this run must keep: its seed, its budget tier."""
        return TrialMeta(
            seed=self.seed, group=self.group, tier=self.tier, promoted_from=self.promoted_from
        )


class Proposer:
    def __init__(
        self,
        study: optuna.Study,
        space: SearchSpace,
        *,
        seed: int | None = None,
        on_event: Callable[..., None] | None = None,
        repeat_seeds: Sequence[int] = (),
        seed_param: str = "seed",
        shared: bool = False,
        budget_param: str | None = None,
        tiers: Sequence[float] = (),
    ) -> None:
        self.study = study
        self.space = space
        self.on_event = on_event or (lambda event, **data: None)
        self.rng = random.Random(seed)
        self.repeat_seeds = list(repeat_seeds)
        # Several runners on one study (PostgreSQL): what is launched is read from
        # the study, and when two pick the same config at once the lower trial
        # number keeps it (each checks after writing its own params).
        self.shared = shared
        self.budget_param = budget_param
        self.tiers = list(tiers)
        self.seed_param = seed_param
        self.feasible_count = space.feasible_count()
        self.launched: dict[Key, int] = {}
        self.extra_waiting = 0
        self.consecutive_infeasible = 0
        self.consecutive_duplicates = 0
        self.duplicates_avoided = 0
        self.exhausted = False
        self.reason = ""

    def load(
        self, trials: Sequence[FrozenTrial], queue: Sequence[dict[str, Any]], room: int
    ) -> None:
        """Pick up a study (new or resumed) and queue ``queue``'s configs not yet there."""
        metas = {t.number: TrialMeta.from_attrs(t.user_attrs) for t in trials}
        self.extra_waiting = sum(
            1
            for t in trials
            if t.state == TrialState.WAITING
            and (
                metas[t.number].retry_of is not None
                or metas[t.number].group is not None
                or metas[t.number].tier is not None
            )
        )
        self.launched = {
            self.space.canonical(t.params): t.number
            for t in trials
            if metas[t.number].slot is not None and metas[t.number].counted
        }
        if not queue:
            return
        # Queued points carry their params in a user attr: a WAITING trial has
        # no params yet, and a resumed runner must not queue them twice.
        waiting = [t for t in trials if t.state == TrialState.WAITING]
        points = [metas[t.number].point for t in waiting]
        seen = set(self.launched) | {self.space.canonical(p) for p in points if p is not None}
        room -= len(waiting)
        for point in queue:
            if room <= 0:
                break
            if self.space.canonical(point) not in seen:
                self.study.enqueue_trial(point, user_attrs=TrialMeta(point=point).to_attrs())
                room -= 1

    def claims(self) -> dict[Key, int]:
        """Every config some runner launched or is launching, with its lowest trial number."""
        out: dict[Key, int] = {}
        for t in self.study.get_trials(deepcopy=False):
            if t.state == TrialState.WAITING or not t.params:
                continue
            meta = TrialMeta.from_attrs(t.user_attrs)
            skip = (meta.reuse_of, meta.infeasible, meta.unused, meta.retry_of)
            if any(v is not None for v in skip) or meta.group not in (None, t.number):
                continue
            if t.state == TrialState.RUNNING or meta.counted:
                out.setdefault(self.space.canonical(t.params), t.number)
        return out

    def counted(self) -> int:
        trials = self.study.get_trials(deepcopy=False)
        return sum(1 for t in trials if TrialMeta.from_attrs(t.user_attrs).counted)

    def record_launch(self, prepared: Prepared) -> None:
        if prepared.counted:
            self.launched[prepared.key] = prepared.trial.number

    def next(self) -> Prepared | None:
        """Ask for a feasible, new config; None when there is none (yet).

        A call makes at most ``ASKS_PER_CALL`` asks so the runner's loop stays
        responsive; it calls again on its next tick.
        """
        if self.shared:
            self.launched = {k: n for k, n in self.claims().items()}
        if (
            self.feasible_count is not None
            and len(self.launched) >= self.feasible_count
            and not self.extra_waiting
        ):
            self._exhaust(f"space exhausted: all {self.feasible_count} feasible configs evaluated")
            return None
        for _ in range(ASKS_PER_CALL):
            trial = self.study.ask()
            params = suggest(trial, self.space)
            meta = TrialMeta.from_attrs(trial.user_attrs)
            tier = meta.tier
            budget = {}
            if self.budget_param is not None:
                budget = {self.budget_param: self.tiers[tier or 0]}
            try:
                config = self.space.complete({**params, **budget})
            except Infeasible as exc:
                TrialMeta(infeasible=str(exc)).write(trial.set_user_attr)
                self.study.tell(trial, state=TrialState.FAIL)
                self.consecutive_infeasible += 1
                if self.consecutive_infeasible >= MAX_CONSECUTIVE_INFEASIBLE:
                    self._exhaust(
                        f"no feasible config found in {MAX_CONSECUTIVE_INFEASIBLE} asks; "
                        "check the constraints"
                    )
                    return None
                continue
            self.consecutive_infeasible = 0
            retry_of, group, seed = meta.retry_of, meta.group, meta.seed
            key = self.space.canonical(params)
            new = retry_of is None and group is None and tier is None
            if new:
                original = self.launched.get(key)
                if self.shared and original is None:
                    holder = self.claims().get(key, trial.number)
                    original = holder if holder != trial.number else None
                if original is not None:
                    if self._reuse(trial, original):
                        return None
                    continue
                self.consecutive_duplicates = 0
                if self.repeat_seeds:
                    group, seed = trial.number, self.repeat_seeds[0]
                    TrialMeta(group=group, seed=seed).write(trial.set_user_attr)
                    self._queue_repeats(trial.number, params)
                if self.budget_param is not None:
                    tier = 0
                    TrialMeta(tier=0).write(trial.set_user_attr)
            else:
                self.extra_waiting = max(0, self.extra_waiting - 1)
            if seed is not None:
                config = {**config, self.seed_param: seed}
            attempt = meta.attempt or 0
            return Prepared(
                trial,
                params,
                config,
                retry_of,
                attempt,
                key,
                counted=new,
                seed=seed,
                group=group,
                tier=tier,
                promoted_from=meta.promoted_from,
            )
        return None

    def promote(self, number: int, params: dict[str, Any], tier: int) -> None:
        """Run a config again with the budget of ``tier`` (the best of the tier below)."""
        meta = TrialMeta(point=params, tier=tier, promoted_from=number)
        self.study.enqueue_trial(params, user_attrs=meta.to_attrs())
        self.extra_waiting += 1

    def _queue_repeats(self, group: int, params: dict[str, Any]) -> None:
        """The further seeds of a new config run next, as their own trials."""
        for seed in self.repeat_seeds[1:]:
            meta = TrialMeta(point=params, group=group, seed=seed)
            self.study.enqueue_trial(params, user_attrs=meta.to_attrs())
            self.extra_waiting += 1

    def _exhaust(self, reason: str) -> None:
        if not self.exhausted:
            self.exhausted, self.reason = True, reason
            self.on_event("exhausted", reason=reason)

    def _reuse(self, trial: optuna.Trial, original: int) -> bool:
        """A proposal repeats a launched config: tell it the known result, never run it.

        After a few repeats in a row in a finite space, an unevaluated feasible
        point is queued (TPE keeps proposing its favourite near the end of a
        small space). Returns True when the space is exhausted.
        """
        self.consecutive_duplicates += 1
        self.duplicates_avoided += 1
        done = self.study.get_trials(deepcopy=False)[original]
        TrialMeta(reuse_of=original).write(trial.set_user_attr)
        if done.state == TrialState.COMPLETE and done.value is not None:
            self.study.tell(trial, done.value)
        else:
            self.study.tell(trial, state=TrialState.FAIL)
        if self.consecutive_duplicates >= DUPLICATES_BEFORE_FILL and self._queue_unevaluated():
            self.consecutive_duplicates = 0
            return False
        if self.consecutive_duplicates >= MAX_CONSECUTIVE_DUPLICATES:
            self._exhaust(
                f"space exhausted: {MAX_CONSECUTIVE_DUPLICATES} proposals in a row were "
                "configs already evaluated"
            )
            return True
        return False

    def _queue_unevaluated(self) -> bool:
        size = self.space.size()
        if size is None or size > MAX_FILL_ENUMERATION:
            return False
        fresh = [
            p for p in self.space.feasible_points() if self.space.canonical(p) not in self.launched
        ]
        if not fresh:
            return False
        point = self.rng.choice(fresh)
        self.study.enqueue_trial(point, user_attrs=TrialMeta(point=point).to_attrs())
        return True
