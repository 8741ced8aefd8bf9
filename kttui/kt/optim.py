"""A minimal Adam, because constructing any ``torch.optim`` optimizer imports
``torch._dynamo`` (and sympy): about a second of start-up per trial process,
which is as long as a whole demo-size epoch.

Same update as ``torch.optim.Adam`` (L2-style ``weight_decay`` added to the
gradient, bias-corrected moments).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


class Adam:
    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = 0

    def state_dict(self) -> dict[str, object]:
        return {"exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq, "steps": self.steps}

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Continue from a checkpoint (a promoted trial resuming at a larger budget)."""
        for mine, saved in zip(self.exp_avg, state["exp_avg"], strict=True):  # type: ignore[call-overload]
            mine.copy_(saved)
        for mine, saved in zip(self.exp_avg_sq, state["exp_avg_sq"], strict=True):  # type: ignore[call-overload]
            mine.copy_(saved)
        self.steps = int(state["steps"])  # type: ignore[call-overload]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        bias1 = 1.0 - beta1**self.steps
        bias2_sqrt = (1.0 - beta2**self.steps) ** 0.5
        step_size = self.lr / bias1
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True):
            if p.grad is None:
                continue
            g = p.grad
            if self.weight_decay:
                g = g.add(p, alpha=self.weight_decay)
            m.lerp_(g, 1.0 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            denom = (v.sqrt() / bias2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)
