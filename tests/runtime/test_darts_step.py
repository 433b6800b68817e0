"""DARTS's step (runtime/search/darts_step.py) against autograd: the second-order α gradient with
its finite-difference Hessian-vector product equals the exact derivative of the unrolled
validation loss (float64, a tiny smooth supernet), the weights and the BN buffers are left
as DARTS leaves them, and each preset's search continues identically after a state-dict
round trip."""

from __future__ import annotations

import sys
from pathlib import Path

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

sys.path.insert(0, str(Path(__file__).parent))
import tiny  # noqa: E402

from genolang.runtime.search.darts_step import DartsState, unrolled_alpha_grads  # noqa: E402
from genolang.runtime.search.netlink import build_search_net  # noqa: E402
from genolang.runtime.search.loop import CyclicSearch  # noqa: E402


class SmoothSupernet(nn.Module):
    """A tiny supernet of smooth candidates (BN, tanh, sigmoid, identity; two mixed layers):
    the ReLU and max-pool kinks of the real op space make the gradient discontinuous, and a
    central difference across a kink measures the jump, not the Hessian. The step reads only
    ``net(x).logits``, the parameter lists and the buffers, so this pins its maths."""

    def __init__(self, generator: torch.Generator):
        super().__init__()
        self.a1 = nn.Parameter(1e-1 * torch.randn(3, generator=generator))
        self.a2 = nn.Parameter(1e-1 * torch.randn(3, generator=generator))
        self.l1 = nn.ModuleList(nn.Linear(6, 6) for _ in range(2))
        self.l2 = nn.ModuleList(nn.Linear(6, 6) for _ in range(2))
        self.bn = nn.BatchNorm1d(6, affine=False)
        self.head = nn.Linear(6, 4)

    def forward(self, x):
        w1, w2 = self.a1.softmax(0), self.a2.softmax(0)
        h = w1[0] * torch.tanh(self.l1[0](x)) + w1[1] * torch.sigmoid(self.l1[1](x)) + w1[2] * x
        h = self.bn(h)
        h = w2[0] * torch.tanh(self.l2[0](h)) + w2[1] * torch.sigmoid(self.l2[1](h)) + w2[2] * h
        return SimpleNamespace(logits=self.head(h))

    def arch_parameters(self):
        return [self.a1, self.a2]

    def weight_parameters(self):
        return [p for n, p in self.named_parameters() if not n.startswith("a")]


def _setup(momentum_steps: int = 1, smooth: bool = True):
    g = torch.Generator().manual_seed(1)
    if smooth:
        torch.manual_seed(0)
        net = SmoothSupernet(g).double()
        batch = lambda: (torch.randn(16, 6, generator=g, dtype=torch.float64), torch.randint(0, 4, (16,), generator=g))
    else:
        s_t, _ = tiny.templates(heads=False)
        net = build_search_net(s_t, tiny.cells(), torch.Generator().manual_seed(0)).double()
        batch = lambda: (torch.randn(8, 3, 16, 16, generator=g, dtype=torch.float64),
                         torch.randint(0, 10, (8,), generator=g))
    arch, weights = net.arch_parameters(), net.weight_parameters()
    opt_w = torch.optim.SGD(weights, lr=0.05, momentum=0.9, weight_decay=3e-4)
    for _ in range(momentum_steps):      # momentum buffers, so the unrolled step uses them
        x, y = batch()
        opt_w.zero_grad()
        F.cross_entropy(net(x).logits, y).backward(inputs=weights)
        opt_w.step()
    opt_a = torch.optim.Adam(arch, lr=3e-4)
    state = DartsState(net, net, arch, weights, opt_a, opt_w, grad_clip=5.0, order=2)
    return state, batch(), batch()


@pytest.mark.parametrize("momentum_steps", [0, 1])
def test_finite_difference_hessian_term_matches_the_exact_second_derivative(momentum_steps):
    state, (x_t, y_t), (x_v, y_v) = _setup(momentum_steps)
    net, arch, weights = state.module, state.arch, state.weights
    w_before = [p.detach().clone() for p in weights]
    buffers = [b.detach().clone() for b in net.buffers()]
    got = unrolled_alpha_grads(state, x_t, y_t, x_v, y_v)

    # exact: d/dα L_val(w'(α), α) with w'(α) = w − η(μ·m + ∇_w L_train(w, α) + λ·w), by autograd
    with torch.no_grad():
        for b, v in zip(net.buffers(), buffers):
            b.copy_(v)
    group = state.opt_w.param_groups[0]
    eta, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
    names = {id(p): n for n, p in net.named_parameters()}
    grads = torch.autograd.grad(F.cross_entropy(net(x_t).logits, y_t), weights, create_graph=True)
    unrolled = {}
    for p, g in zip(weights, grads):
        buf = state.opt_w.state.get(p, {}).get("momentum_buffer")
        m = mu * buf if buf is not None else torch.zeros_like(p)
        unrolled[names[id(p)]] = p.detach() - eta * (m + g + wd * p.detach())
    out = functional_call(net, unrolled, (x_v,))
    exact = torch.autograd.grad(F.cross_entropy(out.logits, y_v), arch)

    fixed = {k: v.detach() for k, v in unrolled.items()}      # w' held fixed: the first-order part
    first = torch.autograd.grad(F.cross_entropy(functional_call(net, fixed, (x_v,)).logits, y_v), arch)
    for g, e, f in zip(got, exact, first):
        # the Hessian term is not negligible here, and the central difference finds it
        assert (e - f).abs().max() > 1e-3 * e.abs().max()
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-9)
    assert all(torch.equal(p, w) for p, w in zip(weights, w_before)), "the weights must be restored exactly"


def test_second_order_leaves_the_bn_statistics_of_the_unrolled_forward_out():
    """BN counts three forwards, at w, w+ and w− (as DARTS's model sees them), none at w'."""
    state, (x_t, y_t), (x_v, y_v) = _setup(smooth=False)
    net = state.module
    counts = [m.num_batches_tracked.item() for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    unrolled_alpha_grads(state, x_t, y_t, x_v, y_v)
    after = [m.num_batches_tracked.item() for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert counts and all(a == c + 3 for a, c in zip(after, counts))


PRESETS = ["darts", "pcdarts", "gdas", "drnas", "beta_darts"]
SEARCH = {"epochs": 2, "pretrain_epochs": 1, "batch": 8, "steps_per_epoch": 2, "augment": True}


@pytest.mark.parametrize("name", PRESETS)
def test_state_dict_round_trip_continues_identically(name):
    """Stop after two epochs, restore into a fresh searcher, finish: same genotypes and α
    (the sampled relaxations draw from the global generator the checkpoint restores)."""
    s_t, e_t = tiny.templates()
    algorithm = {"name": name, **({"partial_channels": 2} if name == "pcdarts" else {}),
                 **({"beta_decay": 5.0} if name == "beta_darts" else {})}
    make = lambda: CyclicSearch(tiny.config(search=SEARCH, algorithm=algorithm), search_template=s_t,
                                eval_template=e_t, cells=tiny.cells(), data=tiny.data())
    whole = make()
    full = whole.run()
    first = make()
    first.total_epochs = 2
    first.run()
    state = first.state_dict()
    torch.manual_seed(12345)              # the restore must not depend on the generator's state here
    second = make()
    second.load_state_dict(state)
    rest = second.run()
    assert [g.cells for g in rest.history] == [g.cells for g in full.history]
    assert all(torch.equal(a, b) for a, b in zip(second.alpha, whole.alpha))
    assert second.eval_net is None, "the darts update builds no evaluation network"
