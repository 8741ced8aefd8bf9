"""The control socket: commands from the CLI and the console (pause, stop, kill, enqueue, ...).

Only the runner's own user may connect; a command that arrives after the client's deadline
is refused, since the client has already told its user that it failed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kttui.runner.sockserve import CommandServer
from kttui.runner.state import RunnerBase
from kttui.sockpath import prepare
from kttui.space import Infeasible
from kttui.specload import check_config
from kttui.trialmeta import TrialMeta


class ControlMixin(RunnerBase):
    async def _serve(self) -> None:
        """Listen on the control socket: `status` answered by a child of its own (sockserve.py)."""
        prepare(self.socket_path, self.session.path)
        self.server = CommandServer(
            self.socket_path,
            asyncio.get_running_loop(),
            apply=self._apply,
            refused=self._refused,
        )
        self.server.start()
        self._publish()

    def _publish(self) -> None:
        """What ``status`` answers on the socket (from a child of its own) until the next step."""
        self._snapshot = self.status()
        if self.server is not None:
            self.server.publish(self._snapshot)

    def _apply(self, req: dict[str, Any]) -> dict[str, Any]:
        """(On the loop) a command from the socket, in arrival order."""
        with self.clock.phase(f"command {req.get('cmd')}"):
            reply = self.handle_command(req)
        self._publish()
        return reply

    def _refused(self) -> None:
        self.session.append_event("warning", message="refused a control connection")

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
        attrs = TrialMeta(point=config, enqueued=True).to_attrs()
        self.worker.post(lambda: self.study.enqueue_trial(config, user_attrs=attrs))
        self.budget += 1
        self.session.append_event("enqueue", params=config)
        self._write_runner()
        self.wake.set()
        filled = sorted(set(config) - set(given))
        return {"ok": True, "params": config, "filled_from_best": filled, **self.status()}
