"""The memory-saving supernet (``memory="recompute"``) computes the plain one's forward and the
same maths in its backward, rounded differently: two steps agree to float32 rounding, not bit
for bit (README: a long search drifts, and a resume that changes the mode needs --force)."""

import dataclasses

import pytest
import torch

import irfix
from genolang.compiler.build import SearchNetwork
from genolang.compiler.lower.ir import Selection
from genolang.base.errors import CompileError

B = 2


def tiny(cells=3):
    t = irfix.tiny_template(cells=cells, input_shape=(3, 16, 16))
    return dataclasses.replace(t, distill_after=(t.reduction_indices[0],))


def pair(cells, channels_last=False, n_cells=3):
    nets = [SearchNetwork(tiny(n_cells), cells, generator=torch.Generator().manual_seed(0), memory=m)
            for m in ("plain", "recompute")]
    nets[1].load_state_dict(nets[0].state_dict())
    if channels_last:
        for net in nets:
            net.use_channels_last()
    return nets


def train(net, steps=2):
    """The cyclic step's two kinds of backward: α with w frozen (``inputs=`` α only), then w
    with α frozen; Adam on α, SGD with momentum on w. Returns the losses."""
    torch.manual_seed(1)            # same random-op draws for both nets
    opt_a = torch.optim.SGD(net.arch_parameters(), lr=0.05, momentum=0.9)
    opt_w = torch.optim.SGD(net.weight_parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(2)
    losses = []
    for _ in range(steps):
        x, y = torch.randn(B, 3, 16, 16, generator=gen), torch.randint(0, 10, (B,), generator=gen)
        for p in net.weight_parameters():
            p.requires_grad_(False)
        out = net(x)
        loss = torch.nn.functional.cross_entropy(out.logits, y) + out.ensemble.square().mean()
        opt_a.zero_grad()
        loss.backward(inputs=net.arch_parameters())
        for p in net.weight_parameters():
            p.requires_grad_(True)
        opt_a.step()
        for p in net.arch_parameters():
            p.requires_grad_(False)
        out = net(x)
        loss_w = torch.nn.functional.cross_entropy(out.logits, y)
        opt_w.zero_grad()
        loss_w.backward()
        for p in net.arch_parameters():
            p.requires_grad_(True)
        opt_w.step()
        losses += [loss.detach(), loss_w.detach()]
    return losses


def assert_same_training(plain, recompute):
    rng = torch.get_rng_state()
    losses_plain = train(plain)
    after_plain = torch.get_rng_state()
    torch.set_rng_state(rng)
    losses_recompute = train(recompute)
    # the replayed random draws leave the generator where the plain run leaves it
    assert torch.equal(torch.get_rng_state(), after_plain)
    torch.testing.assert_close(losses_recompute, losses_plain, rtol=1e-5, atol=1e-6)
    expected = plain.state_dict()
    for name, value in recompute.state_dict().items():   # α, β, weights, BN running stats
        torch.testing.assert_close(value, expected[name], rtol=1e-4, atol=1e-6, msg=name)
    assert recompute.genotype() == plain.genotype()


@pytest.mark.parametrize("zero", ["V0", "V1", "V2", "V3", "V4"])
@pytest.mark.parametrize("rule", ["darts", "idarts", "xdarts"])
def test_recompute_trains_as_plain(rule, zero):
    cells = irfix.darts_cells(select=Selection(rule), zero=zero, nodes=2)
    assert_same_training(*pair(cells))


def test_recompute_trains_as_plain_stage_specific_channels_last():
    cells = irfix.darts_cells(nodes=2, zero="V2")
    cells["stage2.normal"] = cells["normal"]
    plain, recompute = pair(cells, channels_last=True, n_cells=5)
    assert [r.key for r in plain.plan.cells] == ["normal", "reduce", "stage2.normal", "reduce", "normal"]
    assert_same_training(plain, recompute)


def test_the_backward_is_the_same_maths_up_to_rounding():
    """In float64 the gradients agree to 1e-12 relative (float32 rounding would show as
    1e-6): the difference is the order of the sums, not the formula."""
    plain, recompute = (net.double() for net in pair(irfix.darts_cells(nodes=2, zero="V2")))
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(B, 3, 16, 16, generator=gen, dtype=torch.float64), torch.randint(0, 10, (B,), generator=gen)
    grads = []
    for net in (plain, recompute):
        torch.manual_seed(1)
        loss = torch.nn.functional.cross_entropy(net(x).logits, y)
        grads.append(torch.autograd.grad(loss, list(net.parameters()), allow_unused=True))
    for a, b in zip(*grads):
        if a is not None:
            torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-14)


def test_batch_norm_running_stats_update_once():
    plain, recompute = pair(irfix.darts_cells(nodes=2))
    for net in (plain, recompute):
        net(torch.randn(B, 3, 16, 16, generator=torch.Generator().manual_seed(0))).logits.sum().backward()
    bn = "cells.0.n0.c0.sep_conv_3.body.3"
    counts = {net.state_dict()[f"{bn}.num_batches_tracked"].item() for net in (plain, recompute)}
    assert counts == {1}
    torch.testing.assert_close(recompute.state_dict()[f"{bn}.running_var"], plain.state_dict()[f"{bn}.running_var"])


def saved_bytes(net, x):
    """Bytes autograd saves for the backward of one forward (distinct storages)."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = net(x).logits.sum()
    loss.backward()         # the recomputation's own saves are not held across the step
    return sum(storages.values())


def test_recompute_saves_a_fraction_of_the_activations():
    # no distill head: its activations are the same in both paths
    template = irfix.tiny_template(cells=3)
    plain, recompute = (SearchNetwork(template, irfix.darts_cells(nodes=3), memory=m) for m in ("plain", "recompute"))
    x = torch.randn(B, 3, 16, 16)
    # the recompute path saves the nodes' inputs (the cells' states) and the small rest
    assert saved_bytes(recompute, x) < 0.15 * saved_bytes(plain, x)


def test_no_grad_forward_is_the_plain_one():
    plain, recompute = pair(irfix.darts_cells(nodes=2))
    x = torch.randn(B, 3, 16, 16)
    plain.eval(), recompute.eval()
    with torch.no_grad():
        torch.testing.assert_close(recompute(x).logits, plain(x).logits)


def test_unknown_memory_mode_is_refused():
    with pytest.raises(CompileError, match="memory must be one of plain, recompute"):
        SearchNetwork(tiny(), irfix.darts_cells(nodes=2), memory="swap")
