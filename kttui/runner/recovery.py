"""After a crash: failing, retrying or taking over the trials a previous runner left running.

A restarted runner (``resume``) rebuilds its state from the session's files and the study:
trials whose jobs outlive a runner (SLURM, the local wrapper) are reattached, the others are
failed and maybe retried, and the budget, promotions and stop rules continue where they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from dataclasses import replace

import optuna
from optuna.trial import FrozenTrial, TrialState

from kttui.backends.base import (
    BackendError,
    Handle,
)
from kttui.metricparse import EpochLog
from kttui.metricsfile import FILE_NAME, read_epoch_log
from kttui.runner.state import Running
from kttui.runner.stoprules import StopRulesMixin
from kttui.session import now_iso, pid_alive
from kttui.tail import FileTail
from kttui.trialmeta import TrialMeta


class RecoveryMixin(StopRulesMixin):
    def _recover(self) -> None:
        """After a crash: trials the old runner was running are failed (and maybe retried)."""
        trials = self.study.get_trials(deepcopy=False)
        stale = [t for t in trials if t.state == TrialState.RUNNING]
        if self.backend.supports_reattach:  # jobs outlive the runner: take them over
            stale = [t for t in stale if not self._reattach(t)]
        # (each cleanup reads every process's /proc files: none when nothing is stale)
        killed = (
            self.backend.cleanup(self.session.trial_key, [t.number for t in stale]) if stale else 0
        )
        if killed:
            self.session.append_event("reap", processes=killed)
        for t in stale:
            meta = TrialMeta.from_attrs(t.user_attrs)
            tid = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, t.number)
            set_attr = functools.partial(self.storage.set_trial_user_attr, tid)
            launched = (self.session.trial_status(t.number) or {}).get("handle") is not None
            if meta.slot is None and not launched:  # asked, never launched
                TrialMeta(unused=True).write(set_attr)
                self.study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
                if meta.retry_of is not None:
                    attempt = meta.attempt if meta.attempt is not None else 1
                    self._maybe_retry(meta.retry_of, t.params, attempt - 1, meta.identity())
                elif not meta.identity().is_empty() and meta.counted is None:
                    # a repeat's run or a promotion never started: queue it again
                    again = replace(meta.identity(), point=t.params)
                    self.study.enqueue_trial(t.params, user_attrs=again.to_attrs())
                continue
            reason = "the runner stopped while this trial ran"
            status = self.session.trial_status(t.number) or {"number": t.number}
            status.update(state="fail", reason=reason, finished=now_iso())
            with contextlib.suppress(OSError):
                self.session.write_trial_status(t.number, status)
            TrialMeta(reason=reason).write(set_attr)
            self.study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
            self.session.append_event("fail", trial=t.number, reason=reason)
            self._maybe_retry(t.number, t.params, meta.attempt or 0, meta.identity())
        self._last_heartbeat = 0.0
        self._heartbeat()  # reattached trials are alive, whatever their last heartbeat says
        self.worker.post(self._fail_stale)  # after that beat; launching need not wait for it

    def _fail_stale(self) -> None:
        """(On the worker) trials of other runners of a shared study whose heartbeat stopped."""
        with contextlib.suppress(Exception):
            optuna.storages.fail_stale_trials(self.study)

    def _reattach(self, t: FrozenTrial) -> bool:
        """Follow a trial a previous runner submitted (SLURM jobs keep running without us)."""
        status = self.session.trial_status(t.number) or {}
        raw = status.get("handle")
        # (the status file has the config too: a crash may come before the study has it)
        meta = TrialMeta.from_attrs(t.user_attrs)
        config = meta.config or status.get("params")
        if not isinstance(raw, dict) or config is None:
            return False
        handle = Handle.from_json(raw)
        try:
            if not self.backend.reattach(handle):
                return False
        except BackendError as exc:
            self.session.append_event("warning", message=f"reattach of trial {t.number}: {exc}")
            return False
        tdir = self.session.trial_dir(t.number)
        objective = self.spec.objective
        log = EpochLog(objective.metric, objective.direction)
        mirror = None
        source = tdir / FILE_NAME
        if self.spec.metrics.format != "jsonl":
            # epochs already mirrored stay counted, so re-reading the log adds none twice
            mirror = source
            log = read_epoch_log(source, objective.metric, objective.direction)
            source = tdir / ("stderr.log" if self.spec.metrics.source == "stderr" else "stdout.log")
        trial_id = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, t.number)
        # what the old runner's worker had not yet written when it died (files come first)
        counted = bool(status.get("counted")) or None
        known = TrialMeta(config=config, counted=counted, slot=handle.slot)
        for key, val in known.to_attrs().items():
            if val and key not in t.user_attrs:
                self.storage.set_trial_user_attr(trial_id, key, val)
        started = t.datetime_start.timestamp() if t.datetime_start else time.time()
        timeout = self.spec.resources.timeout_min
        self.running[t.number] = Running(
            number=t.number,
            trial=optuna.trial.Trial(self.study, trial_id),
            trial_id=trial_id,
            handle=handle,
            params=dict(t.params),
            config=dict(config),
            started=started,
            started_mono=time.monotonic() - (time.time() - started),
            tail=FileTail(source),
            log=log,
            mirror=mirror,
            deadline=time.monotonic() + timeout * 60 - (time.time() - started) if timeout else None,
            attempt=meta.attempt or 0,
            retry_of=meta.retry_of,
            seed=meta.seed,
            tier=meta.tier,
            identity=meta.identity(),
            group=meta.group,
            counted=bool(status.get("counted") or meta.counted),
        )
        self.session.append_event("reattach", trial=t.number, job=handle.job_id)
        self._watch_exit(handle)
        return True

    def _watch_exit(self, handle: Handle) -> None:
        """A reattached trial is no child of ours (no SIGCHLD): its pidfd wakes the loop when
        it ends, so its slot gets the next trial at once rather than at the next tick."""
        pid = handle.data.get("pid")
        if not isinstance(pid, int) or not hasattr(os, "pidfd_open"):
            return  # (a scheduler's job, or no pidfd here: the loop's tick finds its end)
        try:
            fd = os.pidfd_open(pid)
            loop = asyncio.get_running_loop()
        except (OSError, RuntimeError):
            return
        if not pid_alive(pid, handle.data.get("pid_start")):
            os.close(fd)  # ended, or the pid is another process's by now: nothing to wait for
            return

        def ended() -> None:
            loop.remove_reader(fd)
            os.close(fd)
            self.wake.set()

        loop.add_reader(fd, ended)

    def _count(self) -> None:
        """Pick up where the study is: the budget used, promotions made, stop rules' progress."""
        trials = self.study.get_trials(deepcopy=False)
        metas = [TrialMeta.from_attrs(t.user_attrs) for t in trials]
        # launched-but-never-started (a crash in between) gives budget back
        self.counted = sum(1 for m in metas if m.counted and not m.unused)
        for t, meta in zip(trials, metas, strict=True):
            done = t.value if t.state == TrialState.COMPLETE else None
            self.tiers.load(t.number, t.params, meta.tier, meta.promoted_from, done)
        for t, meta in zip(trials, metas, strict=True):  # the stop rules continue where they were
            if t.state == TrialState.COMPLETE and meta.config is not None and t.value is not None:
                self._record_completed(t.number, t.value, meta.config)
        self.proposer.load(trials, self.plan.queue, self.budget - self.counted)
