"""DKT and SAKT in plain torch, sharing one input/query embedding scheme.

Both models see the same inputs (question, skill, response per step) and emit one
logit per step ``t >= 1`` for "the answer at step t is correct", so the trainer,
the metrics and the reference AUCs treat them identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ModelParams:
    """The sweepable architecture parameters (``n_heads`` is ignored by DKT)."""

    d_model: int = 64
    n_layers: int = 1
    n_heads: int = 4
    d_ff: int = 256
    dropout: float = 0.1


class _Embeddings(nn.Module):
    """Past interactions and next-question queries as ``d_model`` vectors.

    The interaction embedding is per (skill, response) plus a per-question term:
    skill-level terms are shared by many questions, which is what lets a model
    learn from a few hundred students, and the question term adds the detail.
    """

    def __init__(self, n_questions: int, n_skills: int, d_model: int) -> None:
        super().__init__()
        self.n_skills = n_skills
        self.interaction = nn.Embedding(2 * n_skills, d_model)
        self.question_in = nn.Embedding(n_questions, d_model)
        self.question_query = nn.Embedding(n_questions, d_model)
        self.skill_query = nn.Embedding(n_skills, d_model)
        self.question_bias = nn.Embedding(n_questions, 1)
        nn.init.zeros_(self.question_bias.weight)

    def past(self, questions: Tensor, skills: Tensor, responses: Tensor) -> Tensor:
        return self.interaction(skills + self.n_skills * responses) + self.question_in(questions)

    def query(self, questions: Tensor, skills: Tensor) -> Tensor:
        return self.question_query(questions) + self.skill_query(skills)

    def bias(self, questions: Tensor) -> Tensor:
        return self.question_bias(questions).squeeze(-1)


class DKT(nn.Module):
    """Deep Knowledge Tracing: an LSTM over past interactions; a small MLP reads the
    knowledge state out against the next question's embedding.

    The readout generalises DKT's per-skill output layer to questions. Its hidden
    width is ``d_model``, not ``d_ff``: a ``d_ff``-wide readout doubled the epoch
    time on one CPU core without improving AUC, so DKT ignores ``d_ff`` (and
    ``n_heads``), and a sweep over them only matters for SAKT.
    """

    def __init__(self, n_questions: int, n_skills: int, p: ModelParams) -> None:
        super().__init__()
        d = p.d_model
        self.embed = _Embeddings(n_questions, n_skills, d)
        self.lstm = nn.LSTM(
            d, d, p.n_layers, batch_first=True, dropout=p.dropout if p.n_layers > 1 else 0.0
        )
        self.drop = nn.Dropout(p.dropout)
        self.readout = nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, 1))

    def forward(self, questions: Tensor, skills: Tensor, responses: Tensor) -> Tensor:
        """Logits ``(B, L-1)``: entry ``t`` predicts the response at step ``t+1``."""
        x = self.drop(self.embed.past(questions[:, :-1], skills[:, :-1], responses[:, :-1]))
        h, _ = self.lstm(x)
        nq, ns = questions[:, 1:], skills[:, 1:]
        z = torch.cat([self.drop(h), self.embed.query(nq, ns)], dim=-1)
        return self.readout(z).squeeze(-1) + self.embed.bias(nq)


class _AttentionBlock(nn.Module):
    """Causal cross-attention (queries: next questions; keys/values: past
    interactions) followed by a feed-forward layer, each with residual + LayerNorm.

    Written on ``scaled_dot_product_attention`` with ``is_causal`` rather than
    ``nn.MultiheadAttention``: it takes the fused CPU kernel, and dropout is kept
    off the attention weights, which together halve SAKT's epoch time on one core.
    """

    def __init__(self, p: ModelParams) -> None:
        super().__init__()
        self.n_heads = p.n_heads
        self.q_proj = nn.Linear(p.d_model, p.d_model)
        self.kv_proj = nn.Linear(p.d_model, 2 * p.d_model)
        self.o_proj = nn.Linear(p.d_model, p.d_model)
        self.norm1 = nn.LayerNorm(p.d_model)
        self.ffn = nn.Sequential(
            nn.Linear(p.d_model, p.d_ff), nn.ReLU(), nn.Linear(p.d_ff, p.d_model)
        )
        self.norm2 = nn.LayerNorm(p.d_model)
        self.drop = nn.Dropout(p.dropout)

    def _heads(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.n_heads, d // self.n_heads).transpose(1, 2)

    def forward(self, query: Tensor, memory: Tensor) -> Tensor:
        b, n, d = query.shape
        k, v = self.kv_proj(memory).chunk(2, dim=-1)
        # Query t predicts step t+1, so it may see interactions 0..t: exactly causal.
        a = F.scaled_dot_product_attention(
            self._heads(self.q_proj(query)), self._heads(k), self._heads(v), is_causal=True
        )
        a = self.o_proj(a.transpose(1, 2).reshape(b, n, d))
        x = self.norm1(query + self.drop(a))
        return self.norm2(x + self.drop(self.ffn(x)))


class SAKT(nn.Module):
    """Self-Attentive Knowledge Tracing: the next question attends to the past
    interactions (causal mask) through ``n_layers`` attention + feed-forward blocks."""

    def __init__(self, n_questions: int, n_skills: int, max_len: int, p: ModelParams) -> None:
        super().__init__()
        if p.d_model % p.n_heads:
            raise ValueError(f"d_model ({p.d_model}) must be divisible by n_heads ({p.n_heads})")
        self.embed = _Embeddings(n_questions, n_skills, p.d_model)
        self.position = nn.Embedding(max_len, p.d_model)
        self.drop = nn.Dropout(p.dropout)
        self.blocks = nn.ModuleList(_AttentionBlock(p) for _ in range(p.n_layers))
        self.out = nn.Linear(p.d_model, 1)

    def forward(self, questions: Tensor, skills: Tensor, responses: Tensor) -> Tensor:
        """Logits ``(B, L-1)``: entry ``t`` predicts the response at step ``t+1``."""
        steps = questions.shape[1] - 1
        pos = self.position(torch.arange(steps, device=questions.device))
        memory = self.drop(
            self.embed.past(questions[:, :-1], skills[:, :-1], responses[:, :-1]) + pos
        )
        nq, ns = questions[:, 1:], skills[:, 1:]
        x = self.drop(self.embed.query(nq, ns))
        for block in self.blocks:
            x = block(x, memory)
        return self.out(x).squeeze(-1) + self.embed.bias(nq)


def build_model(
    name: str, n_questions: int, n_skills: int, max_len: int, p: ModelParams
) -> nn.Module:
    """Instantiate model ``name`` ("dkt" or "sakt") for data of this shape."""
    if name == "dkt":
        return DKT(n_questions, n_skills, p)
    if name == "sakt":
        return SAKT(n_questions, n_skills, max_len, p)
    raise ValueError(f"unknown model {name!r} (known: dkt, sakt)")


def count_params(model: nn.Module) -> int:
    """Trainable parameter count, reported so a sweep can weigh size against AUC."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
