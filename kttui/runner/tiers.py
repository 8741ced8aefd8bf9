"""Budget tiers: asynchronous successive halving (seed 004's 5 -> 20 -> 40 epochs).

Whenever a tier has more results, the best of them, up to ``promote`` of the tier's
count, run again with the next tier's budget, each config once. The bookkeeping is
plain data, so a resumed runner rebuilds it from the study and promotes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kttui.best import ranked
from kttui.spec import Budgets

Params = dict[str, Any]


@dataclass
class Promotions:
    budgets: Budgets | None
    maximize: bool
    results: dict[int, list[tuple[float, int, Params]]] = field(default_factory=dict)
    promoted: dict[int, set[int]] = field(default_factory=dict)  # per tier, trials promoted

    def load(
        self,
        number: int,
        params: Params,
        tier: int | None,
        promoted_from: int | None,
        value: float | None,
    ) -> None:
        """Take in one trial of a resumed study (``value``: None unless it completed)."""
        if promoted_from is not None and tier:
            self.promoted.setdefault(tier - 1, set()).add(promoted_from)
        if tier is not None and value is not None:
            self.results.setdefault(tier, []).append((value, number, params))

    def add(self, number: int, params: Params, tier: int, value: float) -> list[tuple[int, Params]]:
        """A trial of ``tier`` completed: the (trial, params) to run in the next tier now."""
        budgets = self.budgets
        if budgets is None or tier + 1 >= len(budgets.tiers):
            return []
        results = self.results.setdefault(tier, [])
        results.append((value, number, params))
        done = self.promoted.setdefault(tier, set())
        quota = int(len(results) * budgets.promote)
        out = []
        for _, n, p in ranked(results, lambda r: r[0], self.maximize):
            if len(done) >= quota:
                break
            if n not in done:
                done.add(n)
                out.append((n, p))
        return out
