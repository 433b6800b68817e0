"""Random genotypes: reproducible, shaped by the selection rule and the zero configuration."""

from __future__ import annotations


import pytest

import tiny

from genolang.compiler.genotype.sample import sample_genotype, sample_genotypes


def _edges(g):
    return [(name, node, edges) for name, cell in g.cells for node, edges in cell.nodes]


def test_same_seed_same_genotype_different_seed_differs():
    cells = tiny.cells(nodes=4)
    assert sample_genotype(cells, 5).cells == sample_genotype(cells, 5).cells
    assert len({sample_genotype(cells, s).cells for s in range(6)}) > 1
    many = sample_genotypes(cells, 10, 3)
    assert [g.cells for g in many] == [sample_genotype(cells, 10 + i).cells for i in range(3)]


@pytest.mark.parametrize("rule", ["darts", "idarts", "xdarts"])
def test_selection_rule_shapes(rule):
    cells = tiny.cells(rule, nodes=4)
    for seed in range(5):
        for name, node, edges in _edges(sample_genotype(cells, seed)):
            j = int(node[1:])
            assert len(edges) == (j + 2 if rule == "xdarts" else 2)
            preds = cells[name].predecessors(node)
            assert all(e.src in preds for e in edges)
            if rule == "darts":
                assert len({e.src for e in edges}) == len(edges)     # distinct predecessors
            else:
                assert len(set(edges)) == len(edges)                 # distinct (src, op) pairs


def _ops(zero, seeds=30):
    cells = tiny.cells("idarts", zero, nodes=4)
    return {e.op for s in range(seeds) for _, _, edges in _edges(sample_genotype(cells, s)) for e in edges}


def test_zero_configurations():
    assert not _ops("V0") & {"zero", "random"}     # V0: the zero op is never chosen
    assert not _ops("V1") & {"zero", "random"}
    for config in ("V2", "V3", "V4"):
        assert "random" in _ops(config)           # random is an ordinary candidate
        assert "zero" not in _ops(config)


def test_sampled_genotypes_compile():
    from genolang.runtime.search.netlink import build_eval_net
    _, e_t = tiny.templates()
    for rule in ("darts", "xdarts"):
        net = build_eval_net(e_t, sample_genotype(tiny.cells(rule, "V4"), 1), phase="eval", affine=False)
        assert sum(p.numel() for p in net.parameters()) > 0
