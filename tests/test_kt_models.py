"""DKT/SAKT models, the Adam stand-in and batching, in-process with real torch."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from kttui.kt import synthetic as ktsynthetic  # noqa: E402
from kttui.kt.fit import Tensors  # noqa: E402
from kttui.kt.models import DKT, SAKT, ModelParams, build_model, count_params  # noqa: E402
from kttui.kt.optim import Adam  # noqa: E402

N_Q, N_S, L = 30, 5, 12


def _batch(seed: int = 0) -> tuple[Any, Any, Any]:
    g = torch.Generator().manual_seed(seed)
    q = torch.randint(0, N_Q, (4, L), generator=g)
    return q, q % N_S, torch.randint(0, 2, (4, L), generator=g)


@pytest.mark.parametrize("name", ["dkt", "sakt"])
def test_output_shape(name: str) -> None:
    model = build_model(name, N_Q, N_S, L, ModelParams(d_model=16, d_ff=32))
    assert model(*_batch()).shape == (4, L - 1)


@pytest.mark.parametrize("name", ["dkt", "sakt"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_predictions_only_see_the_past(name: str, n_layers: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, N_Q, N_S, L, ModelParams(d_model=16, n_layers=n_layers, d_ff=32))
    model.eval()
    q, s, r = _batch()
    t = 6  # logit t-1 predicts step t from steps 0..t-1
    with torch.no_grad():
        base = model(q, s, r)
        r2 = r.clone()
        r2[:, t:] = 1 - r2[:, t:]  # flip the response being predicted and later ones
        q2 = q.clone()
        q2[:, t + 1 :] = (q2[:, t + 1 :] + 1) % N_Q  # change later questions
        changed = model(q2, q2 % N_S, r2)
    torch.testing.assert_close(changed[:, :t], base[:, :t])
    assert not torch.allclose(changed[:, t:], base[:, t:])


def test_param_count_grows_with_width_and_depth() -> None:
    small = build_model("sakt", N_Q, N_S, L, ModelParams(d_model=16, n_heads=2, d_ff=32))
    wide = build_model("sakt", N_Q, N_S, L, ModelParams(d_model=32, n_heads=2, d_ff=32))
    deep = build_model("sakt", N_Q, N_S, L, ModelParams(16, n_layers=2, n_heads=2, d_ff=32))
    assert count_params(small) < count_params(wide)
    assert count_params(small) < count_params(deep)
    assert count_params(small) == sum(p.numel() for p in small.parameters())
    assert isinstance(build_model("dkt", N_Q, N_S, L, ModelParams()), DKT)
    assert isinstance(small, SAKT)


def test_bad_model_arguments() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        build_model("bkt", N_Q, N_S, L, ModelParams())
    with pytest.raises(ValueError, match="divisible"):
        SAKT(N_Q, N_S, L, ModelParams(d_model=30, n_heads=4))


def test_adam_matches_torch_adam() -> None:
    torch.manual_seed(0)
    a = torch.nn.Linear(5, 3)
    b = torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    ours = Adam(a.parameters(), lr=1e-2, weight_decay=0.1)
    ref = torch.optim.Adam(b.parameters(), lr=1e-2, weight_decay=0.1)
    for _ in range(20):
        x = torch.randn(8, 5)
        for model, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_batches_cover_every_row_once_with_masks() -> None:
    ds = ktsynthetic.generate(150, 20, seed=0)
    data = Tensors.of(ds)
    seen: list[int] = []
    n_targets = 0
    for q, _s, r, target in data.batches(16, torch.Generator().manual_seed(1)):
        assert target.shape == (q.shape[0], q.shape[1] - 1)
        assert torch.all(r[:, 1:][target] >= 0)
        n_targets += int(target.sum())
        for row in q:
            matches = (data.questions[:, : q.shape[1]] == row).all(dim=1).nonzero().flatten()
            seen.append(int(matches[0]))
    assert n_targets == int(ds.eval_mask.sum())
    assert sorted(seen) == list(range(150))
