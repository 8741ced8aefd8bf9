"""Following running trials: new metric lines, the pruner's verdicts, deadlines, their end."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import TrialState

from kttui import evaluate
from kttui.backends.base import (
    JobStatus,
)
from kttui.failstreak import Outcome
from kttui.metricsfile import FILE_NAME
from kttui.runner.state import STDERR_TAIL_LINES, Running
from kttui.runner.stoprules import StopRulesMixin
from kttui.runner.verdict import Ending, classify
from kttui.session import now_iso
from kttui.tail import last_lines
from kttui.trialmeta import OUTCOME, TrialMeta


class FollowMixin(StopRulesMixin):
    async def _tail_all(self) -> None:
        for r in list(self.running.values()):
            lines = await r.tail.aread_lines()
            if lines:
                with self.clock.phase("metrics"):
                    self._feed(r, lines)

    def _feed(self, r: Running, lines: list[str]) -> None:
        new = []
        for line in lines:
            record = r.log.feed(self.parser.parse(line))
            if record is not None:
                new.append(record)
        if r.mirror is not None and new:
            with open(r.mirror, "a", encoding="utf-8") as fh:
                for epoch, values in new:
                    fh.write(json.dumps({"epoch": epoch, **values}) + "\n")
        if not new:
            return
        metric = self.spec.objective.metric
        for epoch, values in new:
            value = values.get(metric)
            if value is None or value != value or value in (float("inf"), float("-inf")):
                continue
            if self.spec.pruner.type == "none":  # a report alone waits for nothing: posted
                self.worker.post(self._judge, r.trial, epoch, value, False)
                continue
            # the verdict comes back on the loop; the trial is not finished before it has
            r.judging += 1
            self.judge.post(self._judge, r.trial, epoch, value, True, then=self._pruned(r))
        self._write_status(r, "running")
        self._notify()

    @staticmethod
    def _judge(
        trial: optuna.Trial, epoch: int, value: float, judge: bool
    ) -> tuple[int, float] | None:
        """(On the worker) report an epoch; (epoch, value) when the pruner stops the trial."""
        with contextlib.suppress(Exception):
            trial.report(value, step=epoch)
        if judge and trial.should_prune():
            return (epoch, value)
        return None

    def _pruned(self, r: Running) -> Callable[[tuple[int, float] | None], None]:
        def verdict(result: tuple[int, float] | None) -> None:
            with self.clock.phase("verdict"):
                self._verdict(r, result)

        return verdict

    def _verdict(self, r: Running, result: tuple[int, float] | None) -> None:
        r.judging -= 1
        if result is None or r.stop_reason is not None or r.number not in self.running:
            return
        r.pruned_at = result[0]
        self._cancel(r, "pruned")
        self.session.append_event("prune", trial=r.number, epoch=result[0], value=result[1])

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for r in list(self.running.values()):
            if r.deadline is not None and now >= r.deadline and r.stop_reason is None:
                self._cancel(r, "timeout")

    def _collect(self) -> None:
        if not self.running:
            return
        with self.clock.phase("poll"):
            statuses = self.backend.poll([r.handle for r in self.running.values()])
        for r in list(self.running.values()):
            if self._verdicts_pending(r, statuses):
                continue
            st = self.disk.deferred.pop(r.number, None) or statuses.get(r.handle.job_id)
            if st is None:
                continue
            if st.state == "done":
                try:
                    with self.clock.phase("finish"):
                        self._finish(r, st)
                except Exception as exc:  # a full disk: finish it again once there is room
                    keep = self.running if self.state != "shutdown" else {}
                    if not self.disk.defer(exc, r, st, keep, self.storage):
                        raise
            elif st != r.job:
                # a scheduler's queue: say the trial waits, and why (Resources, Priority, ...)
                r.job = st
                if st.state == "queued":
                    self._write_status(r, "queued", reason=f"pending: {st.reason or 'queued'}")
                else:
                    self._write_status(r, "running")

    def _verdicts_pending(self, r: Running, statuses: dict[str, JobStatus]) -> bool:
        """An ended trial's last epochs go to the pruner first: its verdicts decide the end."""
        st = self.disk.deferred.get(r.number) or statuses.get(r.handle.job_id)
        if st is not None and st.state == "done":
            self._feed(r, r.tail.drain())  # (drained again at the finish: finds nothing more)
        return r.judging > 0

    def _finish(self, r: Running, st: JobStatus) -> None:
        lines = r.tail.drain()
        if lines:
            self._feed(r, lines)
        del self.running[r.number]
        self.backend.release(r.handle)
        tdir = self.session.trial_dir(r.number)
        ev = evaluate.outcome(tdir) if self.spec.evaluate else None
        r.log.final.update(ev.final if ev else {})
        if r.mirror is not None or ev is not None:
            evaluate.record_final(tdir / FILE_NAME, r.log.final)
        value = r.log.value(self.spec.objective.summary)
        duration = time.monotonic() - r.started_mono
        state, reason = classify(
            Ending(
                job=st,
                metric=self.spec.objective.metric,
                value=value,
                epochs=len(r.log.epochs),
                bad_lines=r.log.bad_lines,
                stop_reason=r.stop_reason,
                pruned_at=r.pruned_at,
                timeout_min=self.spec.resources.timeout_min,
                evaluated_ok=ev.ok if ev is not None else None,
            )
        )
        tail = (
            last_lines(
                tdir / (evaluate.LOG if ev and not ev.ok else "stderr.log"), STDERR_TAIL_LINES
            )
            if state == "fail"
            else []
        )
        extra = {
            "exit_code": st.exit_code,
            "signal": st.signal,
            "reason": reason,
            "duration_s": round(duration, 3),
            "finished": now_iso(),
            "stderr_tail": tail,
        }
        if value is not None and value == value:
            extra["value"] = value
        self._write_status(r, state, **extra)
        ending = TrialMeta(
            exit_code=st.exit_code,
            reason=reason,
            epochs=len(r.log.epochs),
            final=r.log.final,
            duration_s=round(duration, 3),
            bad_lines=r.log.bad_lines,
        )
        retryable = state == "fail" and r.stop_reason not in ("killed by user", "runner shut down")
        retry = retryable and self.state != "shutdown"

        def tell() -> None:
            ending.write(r.trial.set_user_attr, OUTCOME)
            if state == "complete":
                self.study.tell(r.trial, value)
                if r.tier is not None and value is not None:
                    self._promote(r.number, r.params, r.tier, value)
            elif state == "pruned":
                self.study.tell(r.trial, state=TrialState.PRUNED)
            else:
                self.study.tell(r.trial, state=TrialState.FAIL)
            if retry:
                self._maybe_retry(r.number, r.params, r.attempt, r.identity)

        self.worker.post(tell)
        if state == "complete":
            self._check_stop(r.number, value, r.config)
        event = {"complete": "finish", "pruned": "prune_done", "fail": "fail"}[state]
        self.session.append_event(
            event,
            trial=r.number,
            state=state,
            value=value,
            exit_code=st.exit_code,
            signal=st.signal,
            reason=reason,
            slot=r.handle.slot,
            duration_s=round(duration, 3),
        )
        if r.stop_reason is None:
            self._check_failstreak(
                Outcome(r.number, state == "fail", st.exit_code, len(r.log.epochs), tail)
            )
        self._notify()

    def _promote(self, number: int, params: dict[str, Any], tier: int, value: float) -> None:
        """(On the worker) queue the next tier's runs this result earns (kttui/runner/tiers.py)."""
        for n, p in self.tiers.add(number, params, tier, value):
            self.proposer.promote(n, p, tier + 1)
            self.session.append_event("promote", trial=n, tier=tier + 1)
