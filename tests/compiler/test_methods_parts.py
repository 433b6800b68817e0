"""The method parts' maths, each pinned by a hand computation or a second construction:
GDAS's hard one-hot edge (one op per edge, straight-through gradient), PC-DARTS's partial
channels (bypass untouched, shuffled, β-scaled), DrNAS's Dirichlet KL, β-DARTS's β-decay,
and the presets and refused combinations of the experiment's ``algorithm`` block."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import irfix
from genolang.compiler.build import SearchNetwork
from genolang.compiler.build.ops import candidate_ops
from genolang.compiler.build.partial import PartialWeights, channel_shuffle
from genolang.compiler.build.sampling import Sampled, dirichlet_kl, dirichlet_rows, gumbel_hard
from genolang.compiler.lower.experiment import NAME_DEFAULTS, ExperimentConfig
from genolang.compiler.lower.ir import Selection
from genolang.compiler.lower.program import loads
from genolang.base.errors import CompileError, UserError
from genolang.runtime.search.regularizers import beta_decay_loss


def _net(**kwargs) -> SearchNetwork:
    template = irfix.tiny_template(cells=3, input_shape=(3, 8, 8))
    cells = irfix.darts_cells(nodes=2, select=Selection("darts"), zero=kwargs.pop("zero", "V1"))
    return SearchNetwork(template, cells, generator=torch.Generator().manual_seed(0), **kwargs)


# ------------------------------------------------------------------------------ GDAS

def test_gumbel_hard_is_one_hot_forward_and_softmax_backward():
    alpha = torch.randn(5, 7, generator=torch.Generator().manual_seed(1), requires_grad=True)
    coeff = torch.randn(5, 7, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(3)
    hard, index = gumbel_hard(alpha, tau=0.7)
    assert torch.equal(hard.detach(), F.one_hot(index, 7).float())
    (g_hard,) = torch.autograd.grad((hard * coeff).sum(), alpha)
    # the same draw by hand: p = softmax((log_softmax(α) + g) / τ), gradient of p
    torch.manual_seed(3)
    gumbels = -torch.empty_like(alpha).exponential_().log()
    probs = F.softmax((alpha.log_softmax(1) + gumbels) / 0.7, dim=1)
    assert torch.equal(probs.argmax(1), index)
    (g_soft,) = torch.autograd.grad((probs * coeff).sum(), alpha)
    torch.testing.assert_close(g_hard, g_soft, rtol=0, atol=1e-7)


@pytest.mark.parametrize("zero", ["V1", "V2"])
def test_gdas_forward_runs_exactly_the_sampled_op_of_each_edge(zero):
    net = _net(relax="gumbel", zero=zero)
    net.tau = 5.0
    ran: list[tuple[int, str, str, str]] = []
    for i, cell in enumerate(net.cells):
        for node in cell.node_names:
            for src, ops in getattr(cell, node).items():
                for label, op in ops.items():
                    op.register_forward_hook(lambda *a, key=(i, node, src, label): ran.append(key))
    sampled = {}
    original = net.forward_weights

    def capture():
        sampled.update(original())
        return sampled
    net.forward_weights = capture
    out = net(torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)))
    expected = []
    for i, row in enumerate(net.plan.cells):
        for node in row.cell.nodes:
            w = sampled[row.key][node]
            assert isinstance(w, Sampled)
            assert torch.equal(w.weights.detach().sum(1), torch.ones(len(w.chosen)))
            labels = [label for label, _ in candidate_ops(row.cell, node)]
            for src, k in zip(row.cell.predecessors(node), w.chosen):
                if labels[k] != "zero":
                    expected.append((i, node, src, labels[k]))
    assert sorted(ran) == sorted(expected)
    # every α entry gets a gradient: through the sampled op's weight p_k, which the softmax
    # couples to the whole row (GDAS's NASNet cell)
    out.logits.sum().backward()
    for alpha in net.arch_parameters():
        assert alpha.grad is not None and (alpha.grad != 0).all()


def test_gdas_one_input_cells_add_the_other_weights_as_scalars():
    """NAS-Bench-201's GDAS cell: ``w[k]·o_k(x) + Σ_{j≠k} w[j]``, so each other candidate's
    weight gets the sum of the node's output gradient."""
    net = _net(relax="gumbel")
    node = net.cells[0].n0
    node.reference = 0                     # read as a one-input cell
    x = [torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    w = F.one_hot(torch.tensor([3, 1]), len(candidate_ops(net.cell_specs["normal"], "n0"))).float().requires_grad_()
    out = node(x, Sampled(w, [3, 1]))
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    for row, k in ((0, 3), (1, 1)):
        others = [j for j in range(w.shape[1]) if j != k]
        torch.testing.assert_close(w.grad[row, others], upstream.sum().expand(len(others)))


# ------------------------------------------------------------------------------ PC-DARTS

def test_channel_shuffle_interleaves_the_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]


@pytest.mark.parametrize("k", [2, 4])
def test_partial_node_bypasses_untouched_and_shuffled_channels(k):
    net = _net(partial_channels=k, edge_weights="learnable")
    cell = net.cells[0]
    node = cell.n0
    c = cell.pre1[1].out_channels
    g = torch.Generator().manual_seed(0)
    states = [torch.randn(2, c, 8, 8, generator=g) for _ in range(2)]
    w = torch.rand(2, len(candidate_ops(net.cell_specs["normal"], "n0")[0:]), generator=g)
    beta = torch.tensor([0.3, 0.7])
    out = node(states, PartialWeights(w, beta))
    # by hand: Σ_i β_i · shuffle(cat(Σ_o w[i,o]·o(x_i[:C/K]), x_i[C/K:]), K)
    expected = 0
    labels = [label for label, _ in candidate_ops(net.cell_specs["normal"], "n0")]
    for i, (src, x) in enumerate(zip(("c0", "c1"), states)):
        part = x[:, :c // k]
        mixed = sum(w[i, labels.index(label)] * op(part) for label, op in node[src].items() if not op.zero)
        expected = expected + beta[i] * channel_shuffle(torch.cat([mixed, x[:, c // k:]], 1), k)
    torch.testing.assert_close(out, expected)
    # with the candidates weighted 0 only the bypass is left: x[:, C/K:] in the shuffled slots
    bypass = node(states, PartialWeights(torch.zeros_like(w), None))
    slots = [j for j in range(c) if j % k != 0]        # channel j·K + g comes from group g
    kept = torch.stack([states[0][:, c // k:], states[1][:, c // k:]]).sum(0)
    source = [(j % k) * (c // k) + j // k - c // k for j in slots]
    torch.testing.assert_close(bypass[:, slots], kept[:, source], rtol=0, atol=0)
    assert not bypass[:, [j for j in range(c) if j % k == 0]].any()
    # the candidates never read the bypassed channels
    moved = [x.clone() for x in states]
    for x in moved:
        x[:, c // k:] += 1.0
    again = node(moved, PartialWeights(w, beta))
    group0 = [j for j in range(c) if j % k == 0]
    torch.testing.assert_close(again[:, group0], out[:, group0], rtol=0, atol=0)


def test_partial_candidates_are_built_with_c_over_k_channels_and_reduce_pools_the_bypass():
    net = _net(partial_channels=2, edge_weights="learnable")
    reduce = next(c for c in net.cells if c.n0._strides[0] == 2)
    c = reduce.pre1[1].out_channels
    conv = reduce.n0.c0["sep_conv_3"].body[1]
    assert conv.in_channels == c // 2
    x = [torch.randn(2, c, 8, 8) for _ in range(2)]
    w = torch.zeros(2, len(reduce.n0.c0) + 1)
    out = reduce.n0(x, PartialWeights(w, None))
    assert out.shape == (2, c, 4, 4)
    torch.testing.assert_close(out[:, 1::2], sum(F.max_pool2d(t[:, c // 2:], 2, 2) for t in x), rtol=0, atol=0)


def test_partial_channels_refuses_channel_counts_it_cannot_split():
    with pytest.raises(CompileError, match="does not divide"):
        _net(partial_channels=3)


# ------------------------------------------------------------------------------ DrNAS, β-DARTS

def test_dirichlet_kl_matches_the_closed_form_by_hand():
    alpha = torch.tensor([[0.3, -0.5, 1.2], [0.0, 2.0, -1.0]], dtype=torch.float64)
    total = 0.0
    for row in alpha.tolist():
        a = [x + 1 if x > 0 else math.exp(x) for x in row]       # elu(α) + 1
        a0, k = sum(a), len(a)
        # KL(Dir(a) ‖ Dir(1)) = lnΓ(a0) − Σ lnΓ(a_i) − lnΓ(k) + Σ (a_i − 1)(ψ(a_i) − ψ(a0))
        digamma = lambda v: torch.special.digamma(torch.tensor(v, dtype=torch.float64)).item()
        total += (math.lgamma(a0) - sum(math.lgamma(v) for v in a) - math.lgamma(k)
                  + sum((v - 1) * (digamma(v) - digamma(a0)) for v in a))
    assert dirichlet_kl(alpha).item() == pytest.approx(total, rel=1e-12)


def test_dirichlet_samples_are_reparameterised_row_by_row():
    alpha = torch.randn(3, 5, generator=torch.Generator().manual_seed(0), requires_grad=True)
    torch.manual_seed(7)
    w = dirichlet_rows(alpha)
    torch.manual_seed(7)
    ref = torch.stack([torch.distributions.Dirichlet(F.elu(r) + 1).rsample() for r in alpha])
    assert torch.equal(w, ref)
    torch.testing.assert_close(w.sum(1), torch.ones(3))
    (g,) = torch.autograd.grad((w * torch.arange(5.0)).sum(), alpha)
    assert (g != 0).all()


def test_beta_decay_is_the_mean_logsumexp_of_each_cells_edges():
    net = _net()
    alphas = {key: net.alpha(key) for key in net.cell_specs}
    by_hand = 0.0
    for nodes in alphas.values():
        rows = [row for a in nodes.values() for row in a.tolist()]
        by_hand += sum(math.log(sum(math.exp(v) for v in row)) for row in rows) / len(rows)
    assert beta_decay_loss(net.cell_specs, alphas).item() == pytest.approx(by_hand, rel=1e-6)


def test_sampled_relaxations_refuse_node_level_softmax_cells():
    template = irfix.tiny_template(cells=3, input_shape=(3, 8, 8))
    cells = irfix.darts_cells(nodes=2, select=Selection("idarts"))
    with pytest.raises(CompileError, match="one softmax per node"):
        SearchNetwork(template, cells, relax="dirichlet")


# ------------------------------------------------------------------------------ presets

def test_presets_expand_to_parts_and_a_name_change_rederives_them():
    parts = {name: ExperimentConfig.model_validate({"algorithm": {"name": name}}).algorithm for name in NAME_DEFAULTS}
    assert (parts["darts"].update, parts["darts"].order) == ("darts", 2)
    assert (parts["pcdarts"].partial_channels, parts["pcdarts"].edge_weights) == (4, "learnable")
    assert (parts["gdas"].relax, parts["gdas"].alpha_step) == ("gumbel", "last")
    assert (parts["drnas"].relax, parts["drnas"].kl_weight) == ("dirichlet", 1e-3)
    assert parts["beta_darts"].beta_decay == 0.5
    assert parts["icdarts"].update == "icdarts" and parts["cdarts"].update == "cdarts"
    pc = ExperimentConfig().with_overrides(**{"algorithm.name": "pcdarts"})
    assert pc.algorithm.partial_channels == 4
    back = pc.with_overrides(**{"algorithm.name": "icdarts"}).algorithm
    assert (back.partial_channels, back.edge_weights, back.update) == (1, "none", "icdarts")
    # parts combine: DARTS + β-decay, ICDARTS + partial channels
    assert ExperimentConfig.model_validate({"algorithm": {"name": "darts", "beta_decay": 0.2}}).algorithm.order == 2
    assert ExperimentConfig.model_validate({"algorithm": {"partial_channels": 2}}).algorithm.update == "icdarts"


@pytest.mark.parametrize("entries, shown", [
    ("name = gdas\n    order = 2", "needs the same edge weights"),
    ("name = icdarts\n    order = 2", "no inner weight step"),
    ("name = darts\n    kl_weight = 0.1", "has no Dirichlet"),
    ("name = gdas\n    partial_channels = 2", "one candidate per edge"),
    ("name = pcdarts\n    route = A1", "has no route A1"),
])
def test_refused_combinations_are_located_at_check(entries, shown):
    spec = f"experiment x {{\n  algorithm {{\n    {entries}\n  }}\n}}\n"
    with pytest.raises(UserError) as err:
        loads(spec)
    assert shown in str(err.value)
    assert err.value.span is not None and err.value.span.line == 2


def test_parts_the_accelerator_settings_cannot_run_are_located_at_check():
    spec = "experiment x {\n  search {\n    cuda_graphs = on\n  }\n  algorithm {\n    name = gdas\n  }\n}\n"
    with pytest.raises(UserError) as err:
        loads(spec)
    assert "CUDA graph" in str(err.value) and err.value.span.line == 5
