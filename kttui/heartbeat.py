"""Is the runner's loop alive? ``runner.json`` carries a heartbeat the loop refreshes.

A live pid is not enough: a runner whose loop is stuck (a blocking call, a
stopped process, a hung file system) answers no command and launches nothing,
yet looks alive. The loop rewrites ``heartbeat`` (seconds since the epoch)
every :data:`BEAT_S`; readers call it not responding after :data:`STALE_S`.
"""

from __future__ import annotations

import time
from typing import Any

BEAT_S = 2.0
STALE_S = 15.0
NOT_RESPONDING = "runner not responding"


def silent_for(info: dict[str, Any] | None, now: float | None = None) -> float | None:
    """Seconds since the runner's last heartbeat when that is stale, else None."""
    beat = (info or {}).get("heartbeat")
    if not isinstance(beat, int | float):
        return None  # a runner from before heartbeats: no verdict
    age = (time.time() if now is None else now) - float(beat)
    return age if age > STALE_S else None


def describe(age: float) -> str:
    return f"{NOT_RESPONDING} (no heartbeat for {age:.0f} s)"
