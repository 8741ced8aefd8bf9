"""Launching: configs from the sampler, each written to its trial directory and submitted.

The sampler is asked on the worker, ahead of need, so a slot that frees up gets a trial
without waiting; configs asked for but never launched are given back to the study.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from kttui import evaluate, reproduce
from kttui.backends.base import (
    BackendError,
    TrialRequest,
)
from kttui.command import build_argv
from kttui.metricparse import EpochLog
from kttui.metricsfile import FILE_NAME
from kttui.proposer import Prepared
from kttui.runner.state import RunnerBase, Running
from kttui.session import now_iso
from kttui.tail import FileTail
from kttui.trialmeta import TrialMeta


class LaunchMixin(RunnerBase):
    def _more_to_run(self) -> bool:
        """Budget left, or runs that do not count against it (retries, further seeds).

        On a study shared with other runners the budget is the study's.
        """
        if self.proposer.shared:
            self.counted = self.proposer.counted()
        extra_ready = any(not p.counted for p in self.ready)
        return self.counted < self.budget or bool(self.proposer.extra_waiting) or extra_ready

    def _launch(self) -> None:
        # configs already asked for are launched even once the space is exhausted: the
        # batch that found the last configs is what exhausted it
        while self.state == "running" and self.backend.capacity() > 0:
            if not self._more_to_run():
                return
            if not self.ready:
                if self.proposer.exhausted:
                    return
                # the free slots get configs when the sampler answers (one more, ahead)
                self._ask(self.backend.capacity() + 1)
                return
            if not self._start(self.ready.pop(0)):
                return
        # Every slot is busy: ask for the next config now, so that a slot that
        # frees up gets a trial without waiting for the sampler.
        if self.state == "running" and not self.proposer.exhausted and self._more_to_run():
            self._ask(1)

    def _ask(self, wanted: int) -> None:
        """Ask the sampler on the worker for up to ``wanted`` configs (within the budget)."""
        if self._asking or self.ready:
            return
        left = self.budget - self.counted + self.proposer.extra_waiting
        wanted = max(1, min(wanted, left))
        self._asking = True

        def ask() -> list[Prepared]:
            out = []
            for _ in range(wanted):
                p = self.proposer.next()
                if p is None:
                    break
                self.proposer.record_launch(p)  # the next ask of the batch must not repeat it
                out.append(p)
            return out

        def answered(prepared: list[Prepared]) -> None:
            with self.clock.phase("asked"):
                self._asking = False
                self.ready.extend(prepared)

        self.worker.post(ask, then=answered)

    def _discard_prepared(self) -> None:
        """Configs asked for but never launched (the sweep stopped first)."""
        unused, self.ready = self.ready, []

        def discard() -> None:
            for p in unused:
                if self.proposer.launched.get(p.key) == p.trial.number:
                    del self.proposer.launched[p.key]
                TrialMeta(unused=True).write(p.trial.set_user_attr)
                self.study.tell(p.trial, state=TrialState.FAIL)
                if p.retry_of is not None:
                    self._maybe_retry(p.retry_of, p.params, p.attempt - 1, p.identity())

        if unused:
            self.worker.post(discard)

    def _start(self, prepared: Prepared) -> bool:
        trial, params, config = prepared.trial, prepared.params, prepared.config
        retry_of, attempt = prepared.retry_of, prepared.attempt
        number = trial.number
        tdir = self.session.trial_dir(number)
        try:
            tdir.mkdir(mode=0o700, exist_ok=True)
            (tdir / "params.json").write_text(json.dumps(config, indent=1) + "\n")
            (tdir / FILE_NAME).touch()
            resume_from = None
            budgets = self.spec.budgets
            if prepared.promoted_from is not None and budgets is not None and budgets.resume:
                resume_from = self.session.trial_dir(prepared.promoted_from)
            request = self._request(number, config, tdir, resume_from)
        except OSError as exc:
            if self.disk.absorb(exc):  # launched once the disk has room again
                self.ready.insert(0, prepared)
                return False
            self._tell_fail(trial, number, params, f"cannot prepare trial directory: {exc}")
            return False
        if prepared.counted:
            self.counted += 1

        def launching() -> None:
            if prepared.counted:
                TrialMeta(counted=True).write(trial.set_user_attr)
                self.proposer.record_launch(prepared)
            TrialMeta(config=config).write(trial.set_user_attr)

        self.worker.post(launching)
        try:
            with self.clock.phase("submit"):
                handle = self.backend.submit(request)
        except BackendError as exc:
            self._tell_fail(trial, number, params, str(exc), config=config)
            return True
        now = time.time()
        timeout = self.spec.resources.timeout_min
        source = tdir / (FILE_NAME if self.spec.metrics.format == "jsonl" else "stdout.log")
        if self.spec.metrics.format != "jsonl" and self.spec.metrics.source == "stderr":
            source = tdir / "stderr.log"
        running = Running(
            number=number,
            trial=trial,
            trial_id=self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number),
            handle=handle,
            params=params,
            config=config,
            started=now,
            started_mono=time.monotonic(),
            tail=FileTail(source),
            log=EpochLog(self.spec.objective.metric, self.spec.objective.direction),
            mirror=tdir / FILE_NAME if self.spec.metrics.format != "jsonl" else None,
            deadline=time.monotonic() + timeout * 60 if timeout else None,
            attempt=attempt,
            retry_of=retry_of,
            seed=prepared.seed,
            tier=prepared.tier,
            identity=prepared.identity(),
            group=prepared.group,
            counted=prepared.counted,
        )
        self.running[number] = running
        self._write_status(running, "running")  # with the handle first: a resume reattaches
        self.worker.post(TrialMeta(slot=handle.slot).write, trial.set_user_attr, ("slot",))
        self.session.append_event(
            "launch",
            trial=number,
            slot=handle.slot,
            gpus=handle.gpus,
            job=handle.job_id,
            attempt=attempt,
        )
        self._notify()
        return True

    def _request(
        self, number: int, config: dict[str, Any], tdir: Path, resume_from: Path | None = None
    ) -> TrialRequest:
        builtins = {
            "python": sys.executable,
            "trial_number": number,
            "trial_dir": str(tdir),
            "session_dir": str(self.session.path),
        }
        argv = build_argv(self.spec.command, config, builtins, self.spec.pass_params)
        env = dict(os.environ)
        env.update(self.spec.env)
        env.update(
            {
                "KTTUI_TRIAL_DIR": str(tdir),
                "KTTUI_METRICS": str(tdir / FILE_NAME),
                "KTTUI_PARAMS": str(tdir / "params.json"),
                "KTTUI_TRIAL_NUMBER": str(number),
                "KTTUI_SESSION": str(self.session.path),
            }
        )
        env.setdefault("PYTHONUNBUFFERED", "1")
        if resume_from is not None:  # a promoted trial continues its lower tier's checkpoint
            env["KTTUI_RESUME_FROM"] = str(resume_from)
        cwd = self.launch_dir
        if self.spec.workdir:
            cwd = (self.spec_dir / self.spec.workdir).resolve()
        reproduce.record(tdir, argv, cwd, env)
        metrics = (self.spec.metrics.format, self.spec.metrics.pattern)
        argv = evaluate.wrap(argv, self.spec.evaluate, config, builtins, metrics, tdir)
        return TrialRequest(
            number=number,
            argv=argv,
            env=env,
            cwd=cwd,
            trial_dir=tdir,
            stdout=tdir / "stdout.log",
            stderr=tdir / "stderr.log",
            token=f"{self.session.trial_key}:{number}",
        )

    def _tell_fail(
        self,
        trial: optuna.Trial,
        number: int,
        params: dict[str, Any],
        reason: str,
        config: dict[str, Any] | None = None,
    ) -> None:

        def tell() -> None:
            TrialMeta(reason=reason).write(trial.set_user_attr)
            self.study.tell(trial, state=TrialState.FAIL)

        self.worker.post(tell)
        status = {
            "number": number,
            "state": "fail",
            "params": config or params,
            "reason": reason,
            "finished": now_iso(),
        }
        with contextlib.suppress(OSError):
            self.session.write_trial_status(number, status)
        self.session.append_event("fail", trial=number, reason=reason)
        self._notify()
