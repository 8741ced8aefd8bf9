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
import gc
import os
import signal
import sys
import time
import traceback
import warnings

import optuna

from kttui.backends import backend_class
from kttui.backends.base import (
    Backend,
    BackendError,
)
from kttui.heartbeat import BEAT_S
from kttui.proposer import Proposer
from kttui.pruning import make_pruner
from kttui.runner.control import ControlMixin
from kttui.runner.follow import FollowMixin
from kttui.runner.launch import LaunchMixin
from kttui.runner.recovery import RecoveryMixin
from kttui.runner.state import TICK_S
from kttui.sessionlock import SessionBusy, SessionLock
from kttui.sockpath import SocketPathError
from kttui.storage import hold_password, open_storage
from kttui.strategies import make_plan

#: Test hook: while the file this names exists, the loop is held at the start of a turn
#: (as by a long blocking call); ``<file>.held`` is written when the hold begins.
HOLD_ENV = "KTTUI_TEST_LOOP_HOLD"


class Runner(RecoveryMixin, LaunchMixin, FollowMixin, ControlMixin):
    """One sweep's runner: the event loop that ties its parts together."""

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
        checked = None if self.spec.storage else self.session.schema_path  # ours alone
        self.storage = optuna.storages.get_storage(open_storage(url, checked))
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
        backend.adopt_process()
        for message in backend.preflight(self.session.path):
            self.session.append_event("warning", message=message)
            print(f"kttui: warning: {message}", file=sys.stderr)
        return backend

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
        self.judge.bind(loop)
        os.umask(0o077)
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
                "runner_start",
                pid=os.getpid(),
                resume=resume,
                slots=self.backend.total_slots(),
                cpu=round(time.process_time(), 3),  # what starting cost (bench/chaos.py)
            )
            self._write_runner()
            # the free slots' configs are asked for first: on a resume, the worker's queue
            # then holds the tells of the trials that ended while no runner ran
            if self._disk_ok():
                self._launch()
            if not gc.isenabled():  # (kttui.daemon) start-up's objects live: never walk them
                gc.freeze()
                gc.enable()
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
            self.judge.close()
            self.worker.close()
            self.fitter.close(wait=False)
            if self.server is not None:
                self.server.close()
            loop_time = {**self.clock.summary(), "process_cpu_s": round(time.process_time(), 3)}
            self.session.append_event(
                "runner_stop", state=self.state, reason=self.reason, loop=loop_time
            )
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
        hold = os.environ.get(HOLD_ENV)
        while True:
            if hold:
                _hold(hold)
            self.worker.check()
            self.fitter.check()
            self.judge.check()
            clock = self.clock
            try:
                if self._disk_ok():
                    with clock.phase("collect"):
                        self._collect()
                    await self._tail_all()
                with clock.phase("deadlines"):
                    self._check_deadlines()
                    self._heartbeat()
                if time.monotonic() - self._last_beat >= BEAT_S:
                    self._write_runner(durable=False)
                if self.state == "running":
                    with clock.phase("launch"):
                        self._launch()
            except Exception as exc:
                if not self.disk.absorb(exc):
                    raise
                self._disk_ok()
            if not self.running and not self._asking and self._done():
                self._discard_prepared()
                await self._drain()
                break
            self._publish()
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), TICK_S)
        if self.state in ("running", "paused"):
            self.state = "finished"
        elif self.state in ("stopping", "shutdown"):
            self.state = "stopped"
        self._publish()

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

    async def _stop_all(self, why: str) -> None:
        for r in list(self.running.values()):
            self._cancel(r, why)
        deadline = time.monotonic() + self.spec.resources.kill_grace_s + 5
        while self.running and time.monotonic() < deadline:
            self._collect()
            await asyncio.sleep(0.05)


def _hold(path: str) -> None:
    """(Test hook) block the loop while ``path`` exists."""
    if os.path.exists(path):
        with open(f"{path}.held", "w") as fh:
            fh.write(str(os.getpid()))
        while os.path.exists(path):
            time.sleep(0.02)
