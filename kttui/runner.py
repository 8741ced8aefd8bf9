"""The runner: asks Optuna for configs, launches trials through a backend, follows them.

One runner per session, the single writer of its study. It is an asyncio loop
woken by SIGCHLD (a trial ended), by control commands and by a short timer
(new metric lines). Everything it learns goes to the session directory first
and to Optuna second, so a killed runner loses no finished trial and a
restarted one (``resume``) can rebuild the state from files and the study.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from kttui import __version__, evaluate, reproduce
from kttui.backends import backend_class, proctree
from kttui.backends.base import (
    Backend,
    BackendError,
    Handle,
    JobStatus,
    TrialRequest,
)
from kttui.command import build_argv
from kttui.control import socket_path_for
from kttui.diskfull import DiskGuard, is_disk_full
from kttui.failstreak import FailStreak, Outcome
from kttui.heartbeat import BEAT_S
from kttui.metricparse import EpochLog, LineParser
from kttui.offloop import Worker
from kttui.proposer import ATTR, Prepared, Proposer, identity_of
from kttui.pruning import make_pruner
from kttui.session import Session, now_iso, process_start_time, write_json_atomic
from kttui.sessionlock import SessionBusy, SessionLock
from kttui.sockpath import SocketPathError, prepare, same_user
from kttui.space import Infeasible
from kttui.specload import LoadedSpec, check_config, load_spec
from kttui.stopping import regret_bound
from kttui.storage import HEARTBEAT_S, hold_password, open_storage
from kttui.strategies import make_plan
from kttui.tail import FileTail, last_lines

log = logging.getLogger("kttui.runner")

TICK_S = 0.2
STDERR_TAIL_LINES = 20


@dataclass
class Running:
    number: int
    trial: optuna.Trial
    trial_id: int
    handle: Handle
    params: dict[str, Any]
    config: dict[str, Any]
    started: float
    started_mono: float
    tail: FileTail
    log: EpochLog
    mirror: Path | None
    deadline: float | None
    attempt: int = 0
    retry_of: int | None = None
    seed: int | None = None
    group: int | None = None
    tier: int | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    pruned_at: int | None = None
    job: JobStatus = field(default_factory=lambda: JobStatus("running"))
    counted: bool = False  # a new config, counted against the budget


class Runner:
    def __init__(
        self,
        session: Session,
        loaded: LoadedSpec | None = None,
        *,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        lock: SessionLock | None = None,
    ) -> None:
        self.session = session
        self.lock = lock
        self.loaded = loaded or load_spec(session.spec_path)
        self.spec = self.loaded.spec
        self.space = self.loaded.space
        self.on_change = on_change
        self.state = "starting"
        self.reason = ""
        self.running: dict[int, Running] = {}
        self.counted = 0
        self.budget = 0

        self.completed: list[tuple[dict[str, Any], float]] = []
        self.tier_results: dict[int, list[tuple[float, int, dict[str, Any]]]] = {}
        self.promoted: dict[int, set[int]] = {}
        self.best: tuple[int, float] | None = None
        self.since_best = 0
        self.ready: list[Prepared] = []  # configs the sampler gave, waiting for a slot
        self.wake = asyncio.Event()
        # the study's calls, in order; a write that meets a full disk waits for room
        self.worker = Worker(
            self.wake.set, "kttui-study", retry_if=is_disk_full, on_retry=self._disk_full
        )
        self.fitter = Worker(self.wake.set, "kttui-fit")  # model fits, never delaying the study
        self._asking = False  # a sampler ask runs on the worker
        self._fitting = False  # the regret rule's model is being fitted on the worker
        self._fit_again = False
        self._last_beat = 0.0
        self.server: asyncio.AbstractServer | None = None
        self.socket_path = socket_path_for(session)
        self.started = now_iso()
        self.parser = LineParser(self.spec.metrics.format, self.spec.metrics.pattern)
        self._last_heartbeat = 0.0
        self.disk = DiskGuard(session.path)
        info = session.info()
        self.launch_dir = Path(info.get("launch_dir") or os.getcwd())
        self.spec_dir = Path(info.get("spec_dir") or self.launch_dir)
        self.failstreak = FailStreak(self.spec.resources.pause_after_failures)

    # -- set-up ----------------------------------------------------------------
    def _open_study(self) -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # We record heartbeats ourselves (ask/tell has no optimize loop to do it).
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
        # a reattached trial's epochs are read again from the start; Optuna keeps the first
        warnings.filterwarnings("ignore", message="The reported value is ignored")
        url = self.spec.storage or f"sqlite:///{self.session.db_path}"
        hold_password()  # no trial inherits it
        # The study and we share one (cached) storage object, so our writes and
        # Optuna's never disagree.
        self.storage = optuna.storages.get_storage(open_storage(url))
        self.study = optuna.create_study(
            storage=self.storage,
            study_name=self.spec.name,
            direction=self.spec.objective.direction,
            pruner=make_pruner(self.spec.pruner),
            load_if_exists=True,
        )
        done = len(self.study.get_trials(deepcopy=False))
        self.plan = make_plan(self.spec, self.space, done=done)
        self.study.sampler = self.plan.sampler
        repeats = self.spec.repeats
        self.proposer = Proposer(
            self.study,
            self.space,
            seed=self.spec.strategy.seed,
            on_event=self.session.append_event,
            repeat_seeds=repeats.seeds if repeats else (),
            seed_param=repeats.param if repeats else "seed",
            shared=self.spec.storage is not None,
            budget_param=self.spec.budgets.param if self.spec.budgets else None,
            tiers=self.spec.budgets.tiers if self.spec.budgets else (),
        )
        self.study_id = self.storage.get_study_id_from_name(self.spec.name)
        self.budget = self.plan.budget

    def _backend(self) -> Backend:
        r = self.spec.resources
        backend = backend_class(r.backend).from_resources(r)
        for message in backend.preflight(self.session.path):
            self.session.append_event("warning", message=message)
            print(f"kttui: warning: {message}", file=sys.stderr)
        return backend

    def _recover(self) -> None:
        """After a crash: trials the old runner was running are failed (and maybe retried)."""
        trials = self.study.get_trials(deepcopy=False)
        stale = [t for t in trials if t.state == TrialState.RUNNING]
        if self.backend.supports_reattach:  # jobs outlive the runner: take them over
            stale = [t for t in stale if not self._reattach(t)]
        killed = self.backend.cleanup(self.session.id, [t.number for t in stale])
        if killed:
            self.session.append_event("reap", processes=killed)
        for t in stale:
            launched = (self.session.trial_status(t.number) or {}).get("handle") is not None
            if f"{ATTR}slot" not in t.user_attrs and not launched:  # asked, never launched
                tid = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, t.number)
                self.storage.set_trial_user_attr(tid, f"{ATTR}unused", True)
                self.study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
                attrs = t.user_attrs
                if attrs.get(f"{ATTR}retry_of") is not None:
                    self._maybe_retry(
                        int(attrs[f"{ATTR}retry_of"]),
                        t.params,
                        int(attrs.get(f"{ATTR}attempt", 1)) - 1,
                        identity_of(attrs),
                    )
                elif identity_of(attrs) and f"{ATTR}counted" not in attrs:
                    # a repeat's run or a promotion never started: queue it again
                    again = {f"{ATTR}point": t.params, **identity_of(attrs)}
                    self.study.enqueue_trial(t.params, user_attrs=again)
                continue
            reason = "the runner stopped while this trial ran"
            status = self.session.trial_status(t.number) or {"number": t.number}
            status.update(state="fail", reason=reason, finished=now_iso())
            with contextlib.suppress(OSError):
                self.session.write_trial_status(t.number, status)
            trial_id = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, t.number)
            self.storage.set_trial_user_attr(trial_id, f"{ATTR}reason", reason)
            self.study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
            self.session.append_event("fail", trial=t.number, reason=reason)
            self._maybe_retry(
                t.number,
                t.params,
                int(t.user_attrs.get(f"{ATTR}attempt", 0)),
                identity_of(t.user_attrs),
            )
        self._last_heartbeat = 0.0
        self._heartbeat()  # reattached trials are alive, whatever their last heartbeat says
        with contextlib.suppress(Exception):
            optuna.storages.fail_stale_trials(self.study)

    def _reattach(self, t: FrozenTrial) -> bool:
        """Follow a trial a previous runner submitted (SLURM jobs keep running without us)."""
        status = self.session.trial_status(t.number) or {}
        raw = status.get("handle")
        # (the status file has the config too: a crash may come before the study has it)
        config = t.user_attrs.get(f"{ATTR}config") or status.get("params")
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
        log = EpochLog(self.spec.objective.metric, self.spec.objective.direction)
        mirror = None
        source = tdir / "metrics.jsonl"
        if self.spec.metrics.format != "jsonl":
            # epochs already mirrored stay counted, so re-reading the log adds none twice
            mirror = source
            for line in FileTail(source).drain():
                log.feed(LineParser("jsonl").parse(line))
            source = tdir / ("stderr.log" if self.spec.metrics.source == "stderr" else "stdout.log")
        trial_id = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, t.number)
        # what the old runner's worker had not yet written when it died (files come first)
        missing = {"config": config, "counted": status.get("counted"), "slot": handle.slot}
        for key, val in missing.items():
            if val and f"{ATTR}{key}" not in t.user_attrs:
                self.storage.set_trial_user_attr(trial_id, f"{ATTR}{key}", val)
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
            attempt=int(t.user_attrs.get(f"{ATTR}attempt", 0)),
            retry_of=t.user_attrs.get(f"{ATTR}retry_of"),
            seed=t.user_attrs.get(f"{ATTR}seed"),
            tier=t.user_attrs.get(f"{ATTR}tier"),
            identity=identity_of(t.user_attrs),
            group=t.user_attrs.get(f"{ATTR}group"),
            counted=bool(status.get("counted") or t.user_attrs.get(f"{ATTR}counted")),
        )
        self.session.append_event("reattach", trial=t.number, job=handle.job_id)
        return True

    def _count(self) -> None:
        trials = self.study.get_trials(deepcopy=False)
        self.counted = sum(
            1
            for t in trials  # launched-but-never-started (a crash in between) gives budget back
            if t.user_attrs.get(f"{ATTR}counted") and not t.user_attrs.get(f"{ATTR}unused")
        )
        maximize = self.spec.objective.direction == "maximize"
        for t in trials:  # promotions made before a restart are not made twice
            source = t.user_attrs.get(f"{ATTR}promoted_from")
            tier = t.user_attrs.get(f"{ATTR}tier")
            if source is not None and tier:
                self.promoted.setdefault(int(tier) - 1, set()).add(int(source))
            if tier is not None and t.state == TrialState.COMPLETE and t.value is not None:
                self.tier_results.setdefault(int(tier), []).append((t.value, t.number, t.params))
        for t in trials:  # a resumed runner continues the stop rules where they were
            config = t.user_attrs.get(f"{ATTR}config")
            if t.state == TrialState.COMPLETE and config is not None and t.value is not None:
                self.completed.append((config, t.value))
                better = self.best is None or (
                    t.value > self.best[1] if maximize else t.value < self.best[1]
                )
                self.best, self.since_best = (
                    ((t.number, t.value), 0) if better else (self.best, self.since_best + 1)
                )
        self.proposer.load(trials, self.plan.queue, self.budget - self.counted)

    # -- the loop --------------------------------------------------------------
    def run(self, resume: bool = False) -> int:
        """Run the sweep; 2 (and nothing written) when another runner holds the session."""
        try:
            if self.lock is None:
                self.lock = SessionLock.acquire(self.session.path, self.session.id)
        except SessionBusy as exc:
            print(f"kttui: {exc}", file=sys.stderr)
            return 2
        try:
            return asyncio.run(self._main(resume))
        finally:
            self.lock.release()

    async def _main(self, resume: bool) -> int:
        loop = asyncio.get_running_loop()
        self.worker.bind(loop)
        self.fitter.bind(loop)
        os.umask(0o077)
        proctree.become_subreaper()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._request_shutdown, f"signal {sig.name}")
        loop.add_signal_handler(signal.SIGHUP, lambda: None)
        loop.add_signal_handler(signal.SIGCHLD, self.wake.set)
        code = 0
        try:
            self._open_study()
            self.backend = self._backend()
            if resume:
                self._recover()
            self._count()
            await self._serve()
            self.state = "running"
            self.session.append_event(
                "runner_start", pid=os.getpid(), resume=resume, slots=self.backend.total_slots()
            )
            self._write_runner()
            await self._loop()
        except (BackendError, SocketPathError) as exc:
            self.state, self.reason, code = "stopped", str(exc), 1
            print(f"kttui: {exc}", file=sys.stderr)
        except Exception as exc:  # last resort: record why, never lose the reason
            self.state, self.reason, code = "crashed", f"{type(exc).__name__}: {exc}", 1
            traceback.print_exc()
            await self._stop_all("runner error")
        finally:
            with contextlib.suppress(Exception):
                await self._drain()
            self.worker.close()
            self.fitter.close(wait=False)
            if self.server is not None:
                self.server.close()
                with contextlib.suppress(OSError):
                    self.socket_path.unlink()
            self.session.append_event("runner_stop", state=self.state, reason=self.reason)
            self._write_runner()
            self.disk.close()
            self._notify()
            if hasattr(self, "backend"):
                self.backend.close()
        return code

    async def _drain(self) -> None:
        """Wait for the worker's queue (tells, retries) before the runner says it stopped."""
        while self.worker.busy:
            await asyncio.sleep(0.01)
        self.worker.check()

    async def _loop(self) -> None:
        while True:
            self.worker.check()
            self.fitter.check()
            try:
                if self._disk_ok():
                    self._collect()
                    await self._tail_all()
                self._check_deadlines()
                self._heartbeat()
                if time.monotonic() - self._last_beat >= BEAT_S:
                    self._write_runner()
                if self.state == "running":
                    self._launch()
            except Exception as exc:
                if not self.disk.absorb(exc):
                    raise
                self._disk_ok()
            if not self.running and not self._asking and self._done():
                self._discard_prepared()
                await self._drain()
                break
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), TICK_S)
        if self.state in ("running", "paused"):
            self.state = "finished"
        elif self.state in ("stopping", "shutdown"):
            self.state = "stopped"

    def _disk_ok(self) -> bool:
        """A full disk pauses launching and recording (kttui/diskfull.py) until it has room."""
        state, reason = self.disk.update(self.state, self.reason)
        if (state, reason) != (self.state, self.reason):
            self.state, self.reason = state, reason
            self.session.append_event("disk_full" if self.disk.full else "disk_ok", reason=reason)
            self._write_runner()
            self._notify()
        return not self.disk.full or self.state == "shutdown"  # a shutdown never waits

    def _disk_full(self, exc: BaseException) -> None:
        """A study write on the worker met a full disk: it waits; the runner says why."""
        if self.disk.absorb(exc):
            self._disk_ok()

    def _done(self) -> bool:
        if self.state in ("stopping", "shutdown"):
            return True
        if self.state == "paused":
            return False
        if self.state == "running" and not self._more_to_run():
            if not self.reason:
                self.reason = f"all {self.budget} trials done"
            return True
        if self.state == "running" and self.proposer.exhausted and not self.ready:
            self.reason = self.proposer.reason
            return True
        return False

    def _more_to_run(self) -> bool:
        """Budget left, or runs that do not count against it (retries, further seeds).

        On a study shared with other runners the budget is the study's.
        """
        if self.proposer.shared:
            self.counted = self.proposer.counted()
        extra_ready = any(not p.counted for p in self.ready)
        return self.counted < self.budget or bool(self.proposer.extra_waiting) or extra_ready

    def _request_shutdown(self, why: str) -> None:
        if self.state != "shutdown":
            self.state, self.reason = "shutdown", why
            for r in list(self.running.values()):
                self._cancel(r, "runner shut down")
            self._write_runner()
        self.wake.set()

    async def _stop_all(self, why: str) -> None:
        for r in list(self.running.values()):
            self._cancel(r, why)
        deadline = time.monotonic() + self.spec.resources.kill_grace_s + 5
        while self.running and time.monotonic() < deadline:
            self._collect()
            await asyncio.sleep(0.05)

    # -- launching -------------------------------------------------------------
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
                p.trial.set_user_attr(f"{ATTR}unused", True)
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
            (tdir / "metrics.jsonl").touch()
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
                trial.set_user_attr(f"{ATTR}counted", True)
                self.proposer.record_launch(prepared)
            trial.set_user_attr(f"{ATTR}config", config)

        self.worker.post(launching)
        try:
            handle = self.backend.submit(request)
        except BackendError as exc:
            self._tell_fail(trial, number, params, str(exc), config=config)
            return True
        now = time.time()
        timeout = self.spec.resources.timeout_min
        source = tdir / ("metrics.jsonl" if self.spec.metrics.format == "jsonl" else "stdout.log")
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
            mirror=tdir / "metrics.jsonl" if self.spec.metrics.format != "jsonl" else None,
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
        self.worker.post(trial.set_user_attr, f"{ATTR}slot", handle.slot)
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
                "KTTUI_METRICS": str(tdir / "metrics.jsonl"),
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
            token=f"{self.session.id}:{number}",
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
            trial.set_user_attr(f"{ATTR}reason", reason)
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

    # -- following -------------------------------------------------------------
    async def _tail_all(self) -> None:
        for r in list(self.running.values()):
            lines = await r.tail.aread_lines()
            if lines:
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
            # the pruner's verdict is needed now (it reads the study): in order, then waited for
            self._pruned(r)(self.worker.run(self._judge, r.trial, epoch, value, True))
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
            if result is None or r.stop_reason is not None or r.number not in self.running:
                return
            r.pruned_at = result[0]
            self._cancel(r, "pruned")
            self.session.append_event("prune", trial=r.number, epoch=result[0], value=result[1])

        return verdict

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for r in list(self.running.values()):
            if r.deadline is not None and now >= r.deadline and r.stop_reason is None:
                self._cancel(r, "timeout")

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat < HEARTBEAT_S / 2:
            return
        self._last_heartbeat = now
        record = getattr(self.storage, "record_heartbeat", None)  # RDB storages only
        if record is None:
            return
        ids = [r.trial_id for r in self.running.values()]

        def beat() -> None:
            for trial_id in ids:
                with contextlib.suppress(Exception):
                    record(trial_id)

        self.worker.post(beat)

    def _cancel(self, r: Running, why: str) -> None:
        if r.stop_reason is None:
            r.stop_reason = why
        self.backend.cancel(r.handle)

    def _collect(self) -> None:
        if not self.running:
            return
        statuses = self.backend.poll([r.handle for r in self.running.values()])
        for r in list(self.running.values()):
            st = self.disk.deferred.pop(r.number, None) or statuses.get(r.handle.job_id)
            if st is None:
                continue
            if st.state == "done":
                try:
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
            evaluate.record_final(tdir / "metrics.jsonl", r.log.final)
        value = r.log.value(self.spec.objective.summary)
        duration = time.monotonic() - r.started_mono
        reason = ""
        if r.stop_reason == "pruned":
            state = "pruned"
            reason = f"pruned at epoch {r.pruned_at}"
        elif r.stop_reason == "timeout":
            state, reason = "fail", f"timeout after {self.spec.resources.timeout_min:g} min"
        elif r.stop_reason is not None:
            state, reason = "fail", r.stop_reason
        elif st.signal is not None:
            state, reason = "fail", f"killed by {st.reason or st.signal}"
        elif st.exit_code is None and st.reason:
            state, reason = "fail", st.reason  # preempted, node failure: the scheduler's word
        elif st.exit_code not in (0, None):
            state, reason = "fail", f"exit code {st.exit_code}"
        elif ev is not None and not ev.ok:  # the training curve stays in the trial
            state, reason = "fail", evaluate.FAILED
        elif value is None:
            state = "fail"
            reason = f"no value for {self.spec.objective.metric!r} ({len(r.log.epochs)} epochs read"
            reason += f", {r.log.bad_lines} unparsable lines)" if r.log.bad_lines else ")"
        elif value != value or value in (float("inf"), float("-inf")):
            state, reason = "fail", f"objective is {value}"
        else:
            state = "complete"
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
        attrs = {
            "exit_code": st.exit_code,
            "reason": reason,
            "epochs": len(r.log.epochs),
            "final": r.log.final,
            "duration_s": round(duration, 3),
            "bad_lines": r.log.bad_lines,
        }
        retryable = state == "fail" and r.stop_reason not in ("killed by user", "runner shut down")
        retry = retryable and self.state != "shutdown"

        def tell() -> None:
            for key, val in attrs.items():
                r.trial.set_user_attr(f"{ATTR}{key}", val)
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
        maximize = self.spec.objective.direction == "maximize"
        self.completed.append((config, value))
        if self.best is None or (value > self.best[1] if maximize else value < self.best[1]):
            self.best, self.since_best = (number, value), 0
        else:
            self.since_best += 1
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
            self._fitting = False
            self.session.append_event("regret", bound=bound, trials=n)
            if bound < threshold:
                self._stop_rule(
                    f"estimated room for improvement {bound:.4g} is below {threshold:g} "
                    f"after {n} trials"
                )
            elif self._fit_again and self.state in ("running", "paused"):
                self._fit_regret()

        configs = [c for c, _ in self.completed]
        values = [v for _, v in self.completed]
        maximize = self.spec.objective.direction == "maximize"
        seed = self.spec.strategy.seed or 0
        self.fitter.post(
            lambda: regret_bound(self.space, configs, values, maximize=maximize, seed=seed),
            then=fitted,
        )

    def _promote(self, number: int, params: dict[str, Any], tier: int, value: float) -> None:
        """Asynchronous successive halving over budget tiers (seed 004's 5 -> 20 -> 40).

        Whenever a tier has more results, the best of them up to ``promote`` of the
        tier's count run again with the next tier's budget, each config once.
        """
        budgets = self.spec.budgets
        if budgets is None or tier + 1 >= len(budgets.tiers):
            return
        results = self.tier_results.setdefault(tier, [])
        results.append((value, number, params))
        done = self.promoted.setdefault(tier, set())
        quota = int(len(results) * budgets.promote)
        maximize = self.spec.objective.direction == "maximize"
        ranked = sorted(results, key=lambda r: r[0], reverse=maximize)
        for _, n, p in ranked:
            if len(done) >= quota:
                break
            if n not in done:
                done.add(n)
                self.proposer.promote(n, p, tier + 1)
                self.session.append_event("promote", trial=n, tier=tier + 1)

    def _maybe_retry(
        self, number: int, params: dict[str, Any], attempt: int, identity: dict[str, Any]
    ) -> None:
        """Queue the same params again, keeping the run's seed and budget tier."""
        if attempt >= self.spec.resources.retries:
            return
        attrs = {f"{ATTR}retry_of": number, f"{ATTR}attempt": attempt + 1, **identity}
        self.study.enqueue_trial(params, user_attrs=attrs)
        self.proposer.extra_waiting += 1
        self.session.append_event("retry", trial=number, attempt=attempt + 1)

    def _write_status(self, r: Running, state: str, **extra: Any) -> None:
        status: dict[str, Any] = {
            "number": r.number,
            "state": state,
            "params": r.config,
            "sampled": r.params,
            "slot": r.handle.slot,
            "gpus": r.handle.gpus,
            "job_id": r.handle.job_id,
            "node": r.job.node,  # where the scheduler runs it, and its GRES (gpu:1)
            "gres": r.job.gres,
            "reason": r.job.reason,
            "pid": r.handle.data.get("pid"),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(r.started)),
            "epoch": r.log.last_epoch,
            "epochs": len(r.log.epochs),
            "current": r.log.objective_series()[-1][1] if r.log.objective_series() else None,
            "best": r.log.value("best"),
            "best_epoch": r.log.best_epoch(),
            "final": r.log.final or None,
            "bad_lines": r.log.bad_lines,
            "duplicate_epochs": r.log.duplicate_epochs,
            "attempt": r.attempt,
            "retry_of": r.retry_of,
            "seed": r.seed,
            "group": r.group,
            "tier": r.tier,
            "budget": r.config.get(self.spec.budgets.param) if self.spec.budgets else None,
            "handle": r.handle.to_json(),
            "counted": r.counted,
        }
        status.update(extra)
        try:
            self.session.write_trial_status(r.number, status)
        except OSError as exc:
            log.warning("cannot write status of trial %s: %s", r.number, exc)

    # -- control ---------------------------------------------------------------
    async def _serve(self) -> None:
        prepare(self.socket_path, self.session.path)
        with contextlib.suppress(OSError):
            self.socket_path.unlink()
        old = os.umask(0o177)
        try:
            self.server = await asyncio.start_unix_server(self._client, path=str(self.socket_path))
        finally:
            os.umask(old)
        os.chmod(self.socket_path, 0o600)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not same_user(writer.get_extra_info("socket")):  # only our own user commands us
            self.session.append_event("warning", message="refused a control connection")
            writer.close()
            return
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            try:
                req = json.loads(line)
                reply = self.handle_command(req)
            except (ValueError, TypeError, KeyError) as exc:
                reply = {"ok": False, "error": f"bad request: {exc}"}
            writer.write(json.dumps(reply, default=str).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    def handle_command(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = req.get("cmd")
        deadline = req.get("deadline")
        if isinstance(deadline, int | float) and time.time() > deadline and cmd != "status":
            # the client gave up and told its user the command failed: never do it now
            self.session.append_event("expired", cmd=cmd)
            return {"ok": False, "error": f"{cmd!r} arrived after its deadline; not carried out"}
        if cmd == "status":
            return {"ok": True, **self.status()}
        if cmd == "pause":
            if self.state == "running":
                self.state, self.reason = "paused", "paused by user"
        elif cmd == "resume":
            if self.state == "paused":
                self.state, self.reason = "running", ""
                self.failstreak.reset()
        elif cmd == "stop":
            if self.state in ("running", "paused"):
                self.state, self.reason = "stopping", "stopped by user"
        elif cmd == "shutdown":
            self._request_shutdown("shut down by user")
        elif cmd == "enqueue":
            return self._enqueue(dict(req.get("params") or {}))
        elif cmd == "kill":
            number = int(req["trial"])
            r = self.running.get(number)
            if r is None:
                return {"ok": False, "error": f"trial {number} is not running"}
            self._cancel(r, "killed by user")
            self.session.append_event("kill", trial=number)
        else:
            return {"ok": False, "error": f"unknown command {cmd!r}"}
        if cmd in ("pause", "resume", "stop"):
            self.session.append_event(cmd, state=self.state)
        self._write_runner()
        self.wake.set()
        return {"ok": True, **self.status()}

    def _enqueue(self, given: dict[str, Any]) -> dict[str, Any]:
        """Add one config to the sweep (missing params come from the best trial so far)."""
        if self.state not in ("running", "paused"):
            return {"ok": False, "error": f"the sweep is {self.state}; nothing can be added"}
        unknown = sorted(set(given) - set(self.space.params))
        if unknown:
            return {"ok": False, "error": f"not params of the space: {', '.join(unknown)}"}
        base: dict[str, Any] = {}
        if self.best is not None:
            best = self.study.get_trials(deepcopy=False)[self.best[0]]
            base = {k: v for k, v in best.params.items() if k in self.space.params}
        config = {**base, **given}
        problems = [m for _, m in check_config(self.spec, config, ("params",))]
        if problems:
            return {"ok": False, "error": "; ".join(problems)}
        try:
            self.space.complete(config)
        except Infeasible as exc:
            return {"ok": False, "error": f"infeasible: {exc}"}
        original = self.proposer.launched.get(self.space.canonical(config))
        if original is not None:
            return {"ok": False, "error": f"already evaluated as trial {original}"}
        attrs = {f"{ATTR}point": config, f"{ATTR}enqueued": True}
        self.worker.post(lambda: self.study.enqueue_trial(config, user_attrs=attrs))
        self.budget += 1
        self.session.append_event("enqueue", params=config)
        self._write_runner()
        self.wake.set()
        filled = sorted(set(config) - set(given))
        return {"ok": True, "params": config, "filled_from_best": filled, **self.status()}

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reason": self.reason,
            "budget": self.budget,
            "launched": self.counted,
            "duplicates_avoided": self.proposer.duplicates_avoided,
            "running": [
                {"trial": r.number, "slot": r.handle.slot, "epoch": r.log.last_epoch}
                for r in self.running.values()
            ],
        }

    def _write_runner(self) -> None:
        pid = os.getpid()
        data = {
            "pid": pid,
            "pid_start": process_start_time(pid),
            "host": socket.gethostname(),
            "socket": str(self.socket_path),
            "started": self.started,
            "updated": now_iso(),
            "heartbeat": time.time(),
            "state": self.state,
            "reason": self.reason,
            "budget": self.budget,
            "launched": self.counted,
            "slots": self.backend.total_slots() if hasattr(self, "backend") else None,
            "version": __version__,
        }
        self._last_beat = time.monotonic()
        try:
            write_json_atomic(self.session.runner_path, data)
        except OSError as exc:
            log.warning("cannot write runner.json: %s", exc)

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change(self.status())
