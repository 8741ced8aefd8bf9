"""What every part of the runner shares: a running trial's record, the runner's state.

The runner is one object (``Runner``, kttui/runner/loop.py) assembled from one class per
job; each of them reads and writes the attributes set up here, on the runner's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna

from kttui import __version__
from kttui.atomicfile import write_json_atomic
from kttui.backends.base import (
    Backend,
    Handle,
    JobStatus,
    process_start_time,
)
from kttui.best import maximizing
from kttui.control import socket_path_for
from kttui.diskfull import DiskGuard, is_disk_full
from kttui.failstreak import FailStreak
from kttui.metricparse import EpochLog, LineParser
from kttui.offloop import Worker
from kttui.proposer import Prepared, Proposer
from kttui.regretfit import FitProcess
from kttui.runner.looptime import LoopClock
from kttui.runner.sockserve import CommandServer
from kttui.runner.tiers import Promotions
from kttui.session import Session, now_iso
from kttui.sessionlock import SessionLock
from kttui.specload import LoadedSpec, load_spec
from kttui.storage import HEARTBEAT_S
from kttui.strategies.base import Plan
from kttui.tail import FileTail
from kttui.trialmeta import TrialMeta

log = logging.getLogger("kttui.runner")

TICK_S = 0.2
STDERR_TAIL_LINES = 20


@dataclass
class Running:
    """A trial the runner follows: its job, its metric log and what it must keep on a retry."""

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
    identity: TrialMeta = field(default_factory=TrialMeta)
    stop_reason: str | None = None
    pruned_at: int | None = None
    job: JobStatus = field(default_factory=lambda: JobStatus("running"))
    counted: bool = False  # a new config, counted against the budget
    judging: int = 0  # epochs sent to the pruner whose verdict has not come back


class RunnerBase:
    """What every part of the runner shares: its state and the records it writes."""

    storage: Any
    study: optuna.Study
    study_id: int
    proposer: Proposer
    backend: Backend
    plan: Plan

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
        self.tiers = Promotions(self.spec.budgets, maximizing(self.spec.objective.direction))
        self.best: tuple[int, float] | None = None
        self.since_best = 0
        self.ready: list[Prepared] = []  # configs the sampler gave, waiting for a slot
        self.wake = asyncio.Event()
        # the study's calls, in order; a write that meets a full disk waits for room
        self.worker = Worker(
            self.wake.set, "kttui-study", retry_if=is_disk_full, on_retry=self._disk_full
        )
        self.fitter = FitProcess(self.wake.set)  # model fits in a child: never stalls the loop
        self.judge = Worker(self.wake.set, "kttui-prune")  # verdicts never queue behind asks
        self.clock = LoopClock()  # how long the loop is held, by what (kttui/runner/looptime.py)
        self._asking = False  # a sampler ask runs on the worker
        self._fitting = False  # the regret rule's model is being fitted on the worker
        self._fit_again = False
        self._last_beat = 0.0
        self.server: CommandServer | None = None
        self._snapshot: dict[str, Any] = {}  # the last status() the loop published
        self.socket_path = socket_path_for(session)
        self.started = now_iso()
        self.parser = LineParser(self.spec.metrics.format, self.spec.metrics.pattern)
        self._last_heartbeat = 0.0
        self.disk = DiskGuard(session.path)
        info = session.info()
        self.launch_dir = Path(info.get("launch_dir") or os.getcwd())
        self.spec_dir = Path(info.get("spec_dir") or self.launch_dir)
        self.failstreak = FailStreak(self.spec.resources.pause_after_failures)

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

    def _request_shutdown(self, why: str) -> None:
        if self.state != "shutdown":
            self.state, self.reason = "shutdown", why
            for r in list(self.running.values()):
                self._cancel(r, "runner shut down")
            self._write_runner()
        self.wake.set()

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

    def _maybe_retry(
        self, number: int, params: dict[str, Any], attempt: int, identity: TrialMeta
    ) -> None:
        """Queue the same params again, keeping the run's seed and budget tier."""
        if attempt >= self.spec.resources.retries:
            return
        again = replace(identity, retry_of=number, attempt=attempt + 1)
        self.study.enqueue_trial(params, user_attrs=again.to_attrs())
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
            # a running trial's status is superseded within seconds: only its end is fsynced
            # (tens of ms on a busy disk, on the loop: three writes per trial at least)
            durable = state not in ("running", "queued")
            with self.clock.phase("status.json"):
                self.session.write_trial_status(r.number, status, durable=durable)
        except OSError as exc:
            log.warning("cannot write status of trial %s: %s", r.number, exc)

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

    def _write_runner(self, durable: bool = True) -> None:
        """``durable=False``: a heartbeat alone, not fsynced (the next one follows in 2 s)."""
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
            with self.clock.phase("runner.json"):
                write_json_atomic(self.session.runner_path, data, durable=durable)
        except OSError as exc:
            log.warning("cannot write runner.json: %s", exc)

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change(self.status())
