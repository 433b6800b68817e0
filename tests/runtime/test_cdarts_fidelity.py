"""The CDARTS baseline is the official CDARTS code's computation (microsoft/Cream, ``CDARTS/``).

* The edge weighting softmax(β) of Cream's ``SearchCell`` (β fixed at 0.1: each edge into
  node j weighs 1/(j+2)) against a hand computation on a second network that sums edges.
* Learnable β (Cream's ``--use_beta``) is an architecture parameter, and derivation ranks
  edges by the β-scaled weights (Cream's ``genotypes.parse``).
* Cream's step (``search_function.search``) against a literal transcription of its
  gradient bookkeeping written here: ``zero_grad`` only where Cream calls it, ``backward()``
  into everything, ``clip_grad_norm_`` over all parameters. Two steps, so stale gradients
  of the first reach the clip norms of the second, as they do in Cream.
"""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F

import tiny

from genolang.compiler.build import SearchNetwork
from genolang.runtime.search.losses import kd_loss
from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.loop import CyclicSearch


def _nets(edge_weights: str):
    s_t, _ = tiny.templates()
    cells = tiny.cells(nodes=3)
    summed = SearchNetwork(s_t, cells, generator=torch.Generator().manual_seed(0))
    weighted = SearchNetwork(s_t, cells, generator=torch.Generator().manual_seed(0), edge_weights=edge_weights)
    weighted.load_state_dict(summed.state_dict(), strict=False)   # same weights and α
    return summed, weighted


@pytest.mark.parametrize("train", [False, True])
def test_fixed_beta_averages_the_edges_of_a_node(train):
    summed, weighted = _nets("fixed")
    summed.train(train)
    weighted.train(train)
    x = torch.randn(4, 3, tiny.SIZE, tiny.SIZE, generator=torch.Generator().manual_seed(1))
    # By hand: node j has n_j = j + 2 predecessors and softmax(0.1 · ones(n_j)) = 1 / n_j each.
    hand = {key: {node: torch.softmax(a, -1) / a.shape[0] for node, a in summed.alpha(key).items()}
            for key in summed.cell_specs}
    for key, nodes in weighted.relaxed_weights().items():
        for node, w in nodes.items():
            torch.testing.assert_close(w, hand[key][node])
    torch.testing.assert_close(weighted(x).ensemble, summed(x, arch_weights=hand).ensemble)
    assert not torch.allclose(weighted(x).logits, summed(x).logits)   # averaging is not summing
    # a fixed β is a constant: not an architecture parameter, not a weight
    assert len(weighted.arch_parameters()) == len(summed.arch_parameters())
    assert {id(p) for p in weighted.weight_parameters()}.isdisjoint(weighted.betas.parameters())


def test_learnable_beta_is_trained_and_ranks_edges():
    _, net = _nets("learnable")
    betas = list(net.betas.parameters())
    assert betas and all(any(b is p for p in net.arch_parameters()) for b in betas)
    x = torch.randn(4, 3, tiny.SIZE, tiny.SIZE, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 10, (4,), generator=torch.Generator().manual_seed(2))
    F.cross_entropy(net(x).logits, y).backward()
    assert all(b.grad is not None and b.grad.abs().sum() > 0 for b in betas)
    # Node n1 of `normal` reads c0, c1, n0. Make c0 and c1 clearly best by α, then let β drown
    # c1: Cream's parse ranks by softmax(β)·softmax(α), so n0 must replace c1.
    with torch.no_grad():
        alpha = net.alpha("normal")["n1"]
        alpha.zero_()
        alpha[0, 0] = alpha[1, 0] = 3.0
        alpha[2, 0] = 2.0
        before = {e.src for e in dict(net.genotype().cell("normal").nodes)["n1"]}
        net.betas["normal"]["n1"].copy_(torch.tensor([0.0, -5.0, 0.0]))
        after = {e.src for e in dict(net.genotype().cell("normal").nodes)["n1"]}
    assert before == {"c0", "c1"} and after == {"c0", "n0"}


def _cdarts(**extra) -> CyclicSearch:
    s_t, e_t = tiny.templates()
    cfg = tiny.config(algorithm={"name": "cdarts", "lam": 2.0}, search={"grad_clip": 0.5, "augment": False},
                      **extra)
    return CyclicSearch(cfg, search_template=s_t, eval_template=e_t, cells=tiny.cells(), data=tiny.data())


def _literal_cream_step(c: CyclicSearch, x_t, y_t, x_v, y_v) -> None:
    """``search_function.search`` for one (train, val) pair, transcribed: optimizers with
    ``zero_grad()``, ``loss.backward()`` into every leaf, ``clip_grad_norm_`` over every
    parameter of the controller (S, E, α, shared modules once)."""
    S, E, cfg = c.search_net, c.eval_net, c.config
    controller = list({id(p): p for p in list(S.parameters()) + list(E.parameters()) if p.requires_grad}.values())
    lam, T, clip = cfg.algorithm.lam, cfg.algorithm.T, cfg.search.grad_clip
    c.opt_arch.zero_grad()
    c.opt_e.zero_grad()
    s_out, e_out = S(x_v), E(x_v)
    loss_cls = (F.cross_entropy(s_out.logits, y_v) + F.cross_entropy(e_out.logits, y_v)) / lam
    # nn.KLDivLoss() (mean over all elements) of log_softmax(S/T) against softmax(E/T), times T²
    loss_kd = F.kl_div(F.log_softmax(s_out.ensemble / T, 1), F.softmax(e_out.ensemble / T, 1),
                       reduction="mean") * T * T * lam
    (loss_cls + loss_kd).backward()
    torch.nn.utils.clip_grad_norm_([p for p in controller if p.grad is not None], clip)
    c.opt_e.step()
    c.opt_arch.step()
    c.opt_w.zero_grad()
    F.cross_entropy(S(x_t).logits, y_t).backward()
    torch.nn.utils.clip_grad_norm_([p for p in controller if p.grad is not None], clip)
    c.opt_w.step()


def test_cream_step_equals_the_official_bookkeeping():
    ours, theirs = _cdarts(), _cdarts()
    theirs.search_net.load_state_dict(ours.search_net.state_dict())
    for c in (ours, theirs):
        c.regenerate_eval_net(0.05)
    theirs.eval_net.load_state_dict(ours.eval_net.state_dict())
    assert ours._shared_modules() and ours.search_net.stem is ours.eval_net.stem
    assert ours.search_net.edge_weighting == "fixed"
    batches = [(ours._get("train", torch.arange(i, i + 8)), ours._get("val", torch.arange(i, i + 8))) for i in (0, 8)]
    for (x_t, y_t), (x_v, y_v) in batches:          # two steps: stale gradients enter the second
        ours.cyclic_step(x_t, y_t, x_v, y_v, Meter())
        _literal_cream_step(theirs, x_t, y_t, x_v, y_v)
    for name, net in (("S", "search_net"), ("E", "eval_net")):
        a, b = getattr(ours, net).state_dict(), getattr(theirs, net).state_dict()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-7, msg=lambda m: f"{name}.{key}: {m}")


def test_kd_mean_is_kldivloss_default():
    s, t = torch.randn(6, 10), torch.randn(6, 10)
    ref = torch.nn.KLDivLoss()(F.log_softmax(s / 2, 1), F.softmax(t / 2, 1)) * 4
    torch.testing.assert_close(kd_loss(s, t, 2.0, "mean"), ref)
    torch.testing.assert_close(kd_loss(s, t, 2.0, "batchmean"), ref * 10)


def test_reset_optimizers_all_rebuilds_search_optimisers():
    c = _cdarts()
    c.regenerate_eval_net(0.05)
    x, y = c._get("train", torch.arange(8))
    c.cyclic_step(x, y, x, y, Meter())
    assert c.opt_w.state and c.opt_arch.state
    first = c.opt_w
    c.regenerate_eval_net(0.05)
    assert c.opt_w is not first and not c.opt_w.state and not c.opt_arch.state
