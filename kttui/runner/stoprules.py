"""The spec's ``stop_when`` rules, checked after each completed trial.

A rule that fires stops new launches; running trials finish. The regret rule's model is
fitted on its own worker so the event loop never waits for it (kttui/stopping.py).
"""

from __future__ import annotations

from typing import Any

from kttui.best import is_better, maximizing
from kttui.failstreak import Outcome
from kttui.regretfit import fit_regret
from kttui.runner.state import RunnerBase


class StopRulesMixin(RunnerBase):
    def _check_failstreak(self, outcome: Outcome) -> None:
        """Pause launching when the first trials all fail the same way before any epoch."""
        streak = self.failstreak.add(outcome)
        if streak is not None and self.state == "running":
            self.state, self.reason = "paused", streak.reason
            tail = list(streak.stderr_tail)
            self.session.append_event("pause", reason=self.reason, stderr_tail=tail)
            self._write_runner()

    def _check_stop(self, number: int, value: float | None, config: dict[str, Any]) -> None:
        """Apply ``stop_when`` after a completed trial: no new launches once a rule fires."""
        rules = self.spec.stop_when
        if value is None:
            return
        maximize = maximizing(self.spec.objective.direction)
        self._record_completed(number, value, config)
        if rules is None or self.state not in ("running", "paused"):
            return
        why = ""
        if rules.target is not None and (
            value >= rules.target if maximize else value <= rules.target
        ):
            why = f"target {rules.target:g} reached by trial {number} ({value:.6g})"
        elif rules.no_improvement_trials and self.since_best >= rules.no_improvement_trials:
            assert self.best is not None
            why = (
                f"no improvement in {self.since_best} completed trials "
                f"(best {self.best[1]:.6g} at trial {self.best[0]})"
            )
        elif rules.regret_below is not None and len(self.completed) >= rules.min_trials:
            self._fit_regret()
        if why:
            self._stop_rule(why)

    def _record_completed(self, number: int, value: float, config: dict[str, Any]) -> None:
        """What the rules look at: every completed config, the best so far, trials since."""
        maximize = maximizing(self.spec.objective.direction)
        self.completed.append((config, value))
        if is_better(value, self.best[1] if self.best else None, maximize):
            self.best, self.since_best = (number, value), 0
        else:
            self.since_best += 1

    def _stop_rule(self, why: str) -> None:
        if self.state not in ("running", "paused"):
            return
        self.state, self.reason = "stopping", why
        self.session.append_event("stop_rule", reason=why)
        self._write_runner()

    def _fit_regret(self) -> None:
        """Fit the regret rule's model on the worker (seconds at a few hundred trials)."""
        if self._fitting:  # one fit at a time; the newest results get the next one
            self._fit_again = True
            return
        self._fitting, self._fit_again = True, False
        rules = self.spec.stop_when
        assert rules is not None and rules.regret_below is not None
        threshold = rules.regret_below
        n = len(self.completed)

        def fitted(bound: float) -> None:
            with self.clock.phase("fitted"):
                self._fitted(bound, threshold, n)

        configs = [c for c, _ in self.completed]
        values = [v for _, v in self.completed]
        maximize = maximizing(self.spec.objective.direction)
        seed = self.spec.strategy.seed or 0
        with self.clock.phase("fit post"):
            self.fitter.post(fit_regret, self.space, configs, values, maximize, seed, then=fitted)

    def _fitted(self, bound: float, threshold: float, n: int) -> None:
        self._fitting = False
        self.session.append_event("regret", bound=bound, trials=n)
        if bound < threshold:
            self._stop_rule(
                f"estimated room for improvement {bound:.4g} is below {threshold:g} "
                f"after {n} trials"
            )
        elif self._fit_again and self.state in ("running", "paused"):
            self._fit_regret()
