"""How long the runner's event loop is held, and by what.

Every socket command waits for whatever holds the loop, so the loop's own
blocking times are what the ``status`` latency is made of. Each stretch of
work the loop does between two waits (a phase of a turn of the loop, a socket
command, a result coming back from a worker) is timed here: wall time, and the
CPU time of the loop's thread, so a stretch spent waiting (for the disk, or
for the GIL held by a worker thread) reads as wall time without CPU, on a
loaded machine as on a quiet one. The summary goes into the runner's
``runner_stop`` event; ``bench/chaos.py`` prints it.
"""

from __future__ import annotations

import bisect
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

#: A stretch longer than this is counted as slow (the latency goal of a command).
SLOW_S = 0.05
#: How many of the longest stretches the summary names.
WORST = 5
#: Histogram bucket bounds (seconds), 25 % apart from 50 us to about a minute: the
#: percentiles are read to within a bucket, and a sweep of days keeps a fixed size.
BOUNDS = tuple(50e-6 * 1.25**i for i in range(64))


@dataclass
class Phase:
    count: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    max: float = 0.0
    slow: int = 0


@dataclass
class LoopClock:
    phases: dict[str, Phase] = field(default_factory=dict)
    #: how many stretches took up to each of BOUNDS (the last: longer)
    histogram: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS) + 1))
    worst: list[tuple[float, float, str]] = field(default_factory=list)
    _depth: int = 0  # a phase inside another is counted in its phase only, not as a stretch

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one stretch of the loop's work under ``name``."""
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            self.add(name, time.perf_counter() - wall0, time.thread_time() - cpu0, self._depth > 0)

    def add(self, name: str, wall: float, cpu: float, nested: bool = False) -> None:
        ph = self.phases.get(name)
        if ph is None:
            ph = self.phases[name] = Phase()
        ph.count += 1
        ph.wall += wall
        ph.cpu += cpu
        ph.max = max(ph.max, wall)
        if wall >= SLOW_S:
            ph.slow += 1
        if nested:
            return
        self.histogram[bisect.bisect_left(BOUNDS, wall)] += 1
        if len(self.worst) < WORST or wall > self.worst[-1][0]:
            self.worst.append((wall, cpu, name))
            self.worst.sort(reverse=True)
            del self.worst[WORST:]

    def summary(self) -> dict[str, object]:
        """Percentiles of every stretch, and per phase: count, wall and CPU seconds, max."""
        total = sum(self.histogram)
        longest = self.worst[0][0] if self.worst else 0.0

        def pct(q: float) -> float:
            """The bucket bound under which a share ``q`` of the stretches fall."""
            seen = 0
            for i, n in enumerate(self.histogram):
                seen += n
                if seen > q * total:
                    return min(BOUNDS[i], longest) if i < len(BOUNDS) else longest
            return longest

        return {
            "stretches": total,
            "p50_ms": round(pct(0.5) * 1000, 2),
            "p99_ms": round(pct(0.99) * 1000, 2),
            "max_ms": round(longest * 1000, 2),
            "slow": sum(self.histogram[bisect.bisect_left(BOUNDS, SLOW_S) :]),
            "phases": {
                name: {
                    "count": ph.count,
                    "wall_s": round(ph.wall, 4),
                    "cpu_s": round(ph.cpu, 4),
                    "max_ms": round(ph.max * 1000, 2),
                    "slow": ph.slow,
                }
                for name, ph in sorted(self.phases.items(), key=lambda kv: -kv[1].wall)
            },
            "worst": [
                {"phase": name, "wall_ms": round(w * 1000, 2), "cpu_ms": round(c * 1000, 2)}
                for w, c, name in self.worst
            ],
        }
