"""Genotype identity: the canonical hash is invariant under writing and exact on structure."""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from genolang.compiler.lower import ir
from genolang.compiler.genotype.hash import cell_depth, cell_hash, genotype_hash
from genolang.compiler.lower.program import load
from genolang.grammar import parse_file
from genolang.grammar import syntax as S

OPS = ("sep_conv_3", "skip", "max_pool_3", "dil_conv_5")
ZOO = Path(__file__).resolve().parents[2] / "specs" / "zoo"


@st.composite
def cells(draw):
    n = draw(st.integers(1, 6))
    inputs = ("c0", "c1")
    nodes = []
    for j in range(n):
        states = list(inputs) + [f"n{i}" for i in range(j)]
        k = draw(st.integers(0, 3))
        edges = tuple(ir.GenoEdge(draw(st.sampled_from(OPS)), draw(st.sampled_from(states))) for _ in range(k))
        nodes.append((f"n{j}", edges))
    names = [name for name, _ in nodes]
    output = tuple(draw(st.lists(st.sampled_from(names), min_size=1, unique=True)))
    return ir.GenoCell("normal", inputs, tuple(nodes), output, ())


def rewrite(cell: ir.GenoCell, rng: random.Random) -> ir.GenoCell:
    """The same architecture written differently: nodes renamed by a random permutation and
    listed in another topological order, sum operands and the concat shuffled."""
    names = [n for n, _ in cell.nodes]
    shuffled = names[:]
    rng.shuffle(shuffled)
    rename = dict(zip(names, shuffled))
    new = lambda s: rename.get(s, s)  # noqa: E731
    edges = {n: list(e) for n, e in cell.nodes}
    order, done = [], set(cell.inputs)
    pending = names[:]
    while pending:   # a random topological order
        ready = [n for n in pending if all(e.src in done for e in edges[n])]
        pick = rng.choice(ready)
        pending.remove(pick)
        done.add(pick)
        order.append(pick)
    nodes = []
    for n in order:
        es = [ir.GenoEdge(e.op, new(e.src)) for e in edges[n]]
        rng.shuffle(es)
        nodes.append((new(n), tuple(es)))
    output = [new(s) for s in cell.output]
    rng.shuffle(output)
    return ir.GenoCell(cell.name, cell.inputs, tuple(nodes), tuple(output), ())


def mutate(cell: ir.GenoCell, rng: random.Random, what: str) -> ir.GenoCell | None:
    """One op or one input of one edge changed; None when the cell has no edge to change."""
    spots = [(j, i) for j, (_, es) in enumerate(cell.nodes) for i in range(len(es))]
    if not spots:
        return None
    j, i = rng.choice(spots)
    node, es = cell.nodes[j]
    e = es[i]
    if what == "op":
        changed = ir.GenoEdge(rng.choice([o for o in OPS if o != e.op]), e.src)
    else:
        sources = [s for s in list(cell.inputs) + [n for n, _ in cell.nodes[:j]] if s != e.src]
        changed = ir.GenoEdge(e.op, rng.choice(sources))
    es = es[:i] + (changed,) + es[i + 1:]
    return ir.GenoCell(cell.name, cell.inputs, cell.nodes[:j] + ((node, es),) + cell.nodes[j + 1:], cell.output, ())


def as_graph(cell: ir.GenoCell) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for i, s in enumerate(cell.inputs):
        g.add_node(s, kind=f"input{i}", out=False)
    for n, es in cell.nodes:
        g.add_node(n, kind="node", out=n in cell.output)
    for n, es in cell.nodes:
        for e in es:
            g.add_edge(e.src, n, op=e.op)
    return g


def isomorphic(a: ir.GenoCell, b: ir.GenoCell) -> bool:
    ops = lambda d: sorted(x["op"] for x in d.values())  # noqa: E731
    return nx.is_isomorphic(as_graph(a), as_graph(b), node_match=lambda x, y: x == y,
                            edge_match=lambda x, y: ops(x) == ops(y))


@settings(max_examples=200, deadline=None)
@given(cells(), st.randoms(use_true_random=False))
def test_rewriting_never_changes_the_hash(cell, rng):
    assert cell_hash(rewrite(cell, rng)) == cell_hash(cell)


@settings(max_examples=200, deadline=None)
@given(cells(), st.randoms(use_true_random=False), st.sampled_from(["op", "input"]))
def test_changing_one_op_or_input_changes_the_hash_unless_isomorphic(cell, rng, what):
    changed = mutate(cell, rng, what)
    if changed is None:
        return
    # A change is invisible only where it maps the cell onto itself (an input moved between two
    # interchangeable nodes); networkx's isomorphism test is the independent judge.
    assert (cell_hash(changed) == cell_hash(cell)) == isomorphic(changed, cell)


def chain(ops_and_sources):
    nodes = tuple((f"n{j}", tuple(ir.GenoEdge(op, src) for op, src in edges)) for j, edges in enumerate(ops_and_sources))
    return ir.GenoCell("normal", ("c0", "c1"), nodes, tuple(n for n, _ in nodes), ())


def test_distinct_cells_always_differ():
    """With no two nodes alike, every single op or input change is a new architecture."""
    base = [[("sep_conv_3", "c0"), ("skip", "c1")], [("max_pool_3", "n0"), ("skip", "c0")],
            [("dil_conv_5", "n1"), ("sep_conv_3", "c1")], [("skip", "n2"), ("max_pool_3", "n0")]]
    variants = []
    for j, edges in enumerate(base):
        for i, (op, src) in enumerate(edges):
            changes = [(other, src) for other in OPS if other != op]
            changes += [(op, s) for s in ["c0", "c1"] + [f"n{k}" for k in range(j)] if s != src]
            for change in changes:
                variant = [list(e) for e in base]
                variant[j][i] = change
                variants.append(cell_hash(chain(variant)))
    assert len(variants) == 8 * 3 + sum(1 + j for j in range(4)) * 2
    assert len(set(variants) | {cell_hash(chain(base))}) == len(variants) + 1


def test_inputs_and_reduction_count():
    a = chain([[("skip", "c0")]])
    b = chain([[("skip", "c1")]])
    assert cell_hash(a) != cell_hash(b)
    import dataclasses

    assert cell_hash(dataclasses.replace(a, reduction=True)) != cell_hash(a)


def test_depth_is_the_longest_chain_of_nodes():
    assert cell_depth(chain([[("skip", "c0")], [("skip", "c1")]])) == 1
    assert cell_depth(chain([[("skip", "c0")], [("skip", "n0")], [("skip", "c1"), ("skip", "n1")]])) == 3


def test_ir_and_syntax_hashes_agree_on_the_zoo():
    for path in sorted(ZOO.glob("*.geno")):
        program = load(path)
        for definition in parse_file(path).items:
            if isinstance(definition, S.GenotypeDef):
                assert genotype_hash(definition) == genotype_hash(program.genotypes[definition.name]), path


def test_genotype_hash_ignores_name_and_provenance_but_not_cells():
    import dataclasses

    g = load(ZOO / "darts_v2.geno").genotypes["darts_v2"]
    assert genotype_hash(dataclasses.replace(g, name="other", provenance=(("seed", "3"),))) == genotype_hash(g)
    swapped = dataclasses.replace(g, cells=tuple((k, c) for k, c in reversed(g.cells)))
    assert genotype_hash(swapped) == genotype_hash(g)        # listing order of cells does not count
    renamed = dataclasses.replace(g, cells=((g.cells[0][0], g.cells[1][1]), (g.cells[1][0], g.cells[0][1])))
    assert genotype_hash(renamed) != genotype_hash(g)         # which cell is which does
