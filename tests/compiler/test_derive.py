"""Derivation rules on hand-made α (columns: the 7 DARTS ops, then the special op)."""

import dataclasses

import pytest
import torch

import irfix
from genolang.compiler.genotype.derive import derive_cell, derive_genotype, derive_node
from genolang.compiler.lower.ir import GenoEdge, Selection
from genolang.base.errors import CompileError

OPS = list(irfix.darts_space().labels)   # skip, max_pool_3, avg_pool_3, sep_conv_3, sep_conv_5, dil_conv_3, dil_conv_5


def cell(rule="darts", zero="V1", k=2):
    return irfix.darts_cell("normal", irfix.darts_space(), select=Selection(rule, k), zero=zero)


def alpha(rows, entries, n_ops=7):
    """α of a node with `rows` predecessors; entries {(row, op label or column): value}."""
    a = torch.zeros(rows, n_ops)
    for (r, c), v in entries.items():
        a[r, OPS.index(c) if isinstance(c, str) else c] = v
    return a


def test_darts_top2_edges_by_best_op():
    a = alpha(4, {(0, "sep_conv_3"): 2.0, (1, "skip"): 1.0, (2, "dil_conv_5"): 3.0, (3, "max_pool_3"): 0.5})
    assert derive_node(cell(), "n2", a) == (GenoEdge("dil_conv_5", "n0"), GenoEdge("sep_conv_3", "c0"))


def test_darts_keeps_one_op_per_predecessor():
    a = alpha(2, {(0, "sep_conv_3"): 5.0, (0, "sep_conv_5"): 4.9, (1, "skip"): 0.1})
    assert derive_node(cell(), "n0", a) == (GenoEdge("sep_conv_3", "c0"), GenoEdge("skip", "c1"))


def test_darts_ranks_by_softmax_weight_not_logit():
    # Row 0 has a higher logit but shares its mass with a close rival; row 1 is decisive.
    a = alpha(3, {(0, "sep_conv_3"): 3.0, (0, "sep_conv_5"): 3.0, (1, "skip"): 2.5, (2, "skip"): 2.6})
    edges = derive_node(cell(), "n1", a)
    assert [e.src for e in edges] == ["n0", "c1"]


def test_idarts_may_take_two_ops_from_one_predecessor():
    a = alpha(3, {(1, "sep_conv_3"): 3.0, (1, "dil_conv_3"): 2.9, (0, "skip"): 1.0})
    assert derive_node(cell("idarts"), "n1", a) == (GenoEdge("sep_conv_3", "c1"), GenoEdge("dil_conv_3", "c1"))


def test_idarts_top_k_is_configurable():
    a = alpha(2, {(0, "skip"): 3.0, (1, "skip"): 2.0, (0, "max_pool_3"): 1.0})
    assert len(derive_node(cell("idarts", k=3), "n0", a)) == 3


@pytest.mark.parametrize("node, kept", [("n0", 2), ("n1", 3), ("n2", 4), ("n3", 5)])
def test_xdarts_keeps_j_plus_2_pairs(node, kept):
    rows = cell().predecessors(node)
    a = torch.arange(len(rows) * 7, dtype=torch.float32).view(len(rows), 7)
    edges = derive_node(cell("xdarts"), node, a)
    assert len(edges) == kept
    assert edges[0] == GenoEdge("dil_conv_5", rows[-1])      # the largest entry first


def test_v0_excludes_zero_when_ranking_and_choosing():
    z = 7                                                      # zero is the last column under V0
    a = alpha(3, {(0, z): 9.0, (1, z): 9.0, (0, "skip"): 1.0, (1, "sep_conv_3"): 0.5, (2, "avg_pool_3"): 0.2}, n_ops=8)
    edges = derive_node(cell(zero="V0"), "n1", a)
    assert all(e.op != "zero" for e in edges) and len(edges) == 2
    edges = derive_node(cell("idarts", zero="V0"), "n1", a)
    assert all(e.op != "zero" for e in edges)


@pytest.mark.parametrize("zero", ["V2", "V3", "V4"])
def test_random_is_an_ordinary_candidate(zero):
    a = alpha(2, {(0, 7): 4.0, (1, "skip"): 1.0}, n_ops=8)
    assert derive_node(cell(zero=zero), "n0", a)[0] == GenoEdge("random", "c0")


def test_ties_go_to_the_earlier_entry():
    edges = derive_node(cell(), "n1", torch.zeros(3, 7))
    assert edges == (GenoEdge("skip", "c0"), GenoEdge("skip", "c1"))


def test_derive_cell_and_genotype():
    spec = cell(zero="V2")
    alphas = {n: torch.randn(len(spec.predecessors(n)), 8) for n in spec.nodes}
    geno = derive_cell(spec, alphas)
    assert geno.output == spec.output and geno.zero == "V2"
    assert "random" in dict(geno.ops)
    reduce = dataclasses.replace(spec, name="reduce", reduction=True)
    g = derive_genotype({"normal": spec, "reduce": reduce}, {"normal": alphas, "reduce": alphas}, name="x")
    assert g.cell("reduce").reduction and g.name == "x"


def test_wrong_alpha_shape():
    with pytest.raises(CompileError, match="expected"):
        derive_node(cell(), "n0", torch.zeros(3, 7))
