"""Every session of a store, one summary row each: the sessions screen's source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kttui.service.watch import SessionWatcher
from kttui.session import list_sessions


@dataclass(frozen=True)
class SessionRow:
    """One line of the sessions screen."""

    id: str
    name: str
    state: str
    trials: int
    done: int
    running: int
    failed: int
    pruned: int
    best: float | None
    best_trial: int | None
    metric: str
    direction: str
    created: str
    path: str
    alive: bool


def session_row(watcher: SessionWatcher) -> SessionRow:
    counts = watcher.counts()
    best = watcher.best()
    info = watcher.info
    return SessionRow(
        id=watcher.session.id,
        name=str(info.get("name") or watcher.session.id),
        state=watcher.runner.state,
        trials=len(watcher.rows),
        done=counts.get("complete", 0),
        running=counts.get("running", 0),
        failed=counts.get("fail", 0),
        pruned=counts.get("pruned", 0),
        best=best.value if best else None,
        best_trial=best.number if best else None,
        metric=watcher.metric,
        direction=watcher.direction,
        created=str(info.get("created") or "")[:16].replace("T", " "),
        path=str(watcher.session.path),
        alive=watcher.runner.alive,
    )


class StoreWatcher:
    """Every session of a store, summarised incrementally (the sessions screen)."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self._watchers: dict[str, SessionWatcher] = {}

    def poll(self) -> list[SessionRow]:
        rows = []
        seen = set()
        for session in list_sessions(self.store):
            seen.add(session.id)
            watcher = self._watchers.get(session.id)
            if watcher is None:
                watcher = self._watchers[session.id] = SessionWatcher(session, follow_metrics=False)
            watcher.poll()
            rows.append(session_row(watcher))
        for gone in set(self._watchers) - seen:
            self._watchers.pop(gone).close()
        return rows
