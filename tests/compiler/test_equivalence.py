"""The differential invariant: the supernet at the weights of a genotype computes what the
discrete network of that genotype computes, with the same parameters (copied by name).

"The weights of a genotype" are the 0/1 edge weights :meth:`SearchNetwork.hard_weights`
(a kept (source, op) pair weighs 1, everything else 0), because the discrete cell *sums*
its kept edges. For DARTS cells under V0 these are exactly softmax(α) for a one-hot α
(-inf elsewhere; dropped edges pick the zero op), which is tested too. For I-DARTS and
XDARTS a one-hot α would weigh each of a node's k kept pairs 1/k under the node-level
softmax, a different network, so only the hard weights are compared there.
"""

import dataclasses

import pytest
import torch

import irfix
from genolang.compiler.build import EvalNetwork, SearchNetwork, load_matching
from genolang.compiler.build.ops import candidate_ops
from genolang.compiler.lower.ir import Selection


def template():
    t = irfix.tiny_template()
    return dataclasses.replace(t, distill_after=(t.reduction_indices[0],))


def pair(rule, zero="V1"):
    cells = irfix.darts_cells(select=Selection(rule), zero=zero, nodes=3)
    supernet = SearchNetwork(template(), cells, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():                     # a decisive α, so the genotype is not a coin toss
        for p in supernet.arch_parameters():
            p.normal_(0, 1, generator=torch.Generator().manual_seed(p.numel()))
        supernet.train()
        for _ in range(2):                    # non-trivial BN running statistics
            supernet(torch.randn(4, 3, 16, 16))
    genotype = supernet.genotype()
    discrete = EvalNetwork(template(), genotype, phase="eval", affine=False)
    missing = load_matching(discrete, supernet.state_dict())
    assert missing == []
    return supernet, discrete, genotype


def compare(supernet, discrete, arch_weights, mode):
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    supernet.train(mode == "train")
    discrete.train(mode == "train")
    with torch.no_grad():
        a = supernet(x, arch_weights)
        b = discrete(x)
    torch.testing.assert_close(a.logits, b.logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(a.ensemble, b.ensemble, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("rule", ["darts", "idarts", "xdarts"])
def test_hard_weights_match_discrete_network(rule, mode):
    supernet, discrete, genotype = pair(rule)
    compare(supernet, discrete, supernet.hard_weights(genotype), mode)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_one_hot_alpha_matches_discrete_network(mode):
    """DARTS cells, V0: the plain forward pass (softmax of α) at a one-hot α."""
    supernet, discrete, genotype = pair("darts", zero="V0")
    with torch.no_grad():
        for key, cell in supernet.cell_specs.items():
            geno = genotype.cell(key)
            for node, alpha in supernet.alpha(key).items():
                labels = [label for label, _ in candidate_ops(cell, node)]
                preds = cell.predecessors(node)
                alpha.fill_(float("-inf"))
                alpha[:, labels.index("zero")] = 0.0
                for edge in geno.edges_of(node):
                    alpha[preds.index(edge.src)] = float("-inf")
                    alpha[preds.index(edge.src), labels.index(edge.op)] = 0.0
    compare(supernet, discrete, None, mode)
