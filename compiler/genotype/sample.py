"""Random genotypes: the "Random" baseline columns of Tables 3.2 and 3.3.

Each node of each searched cell draws its inputs at random, following the cell's selection
rule: ``darts`` picks k distinct predecessors and one op for each, ``idarts`` picks k distinct
(predecessor, op) pairs, ``xdarts`` picks j+2 pairs for node j. The candidates are the ops the
supernet would hold, i.e. the space plus the special op of the zero configuration, minus
``zero`` under V0 (which the derivation ignores there). Drawing uses only a generator seeded
from the given seed, so ``sample_genotype(cells, seed)`` is reproducible anywhere.
"""

from __future__ import annotations

import random
from typing import Mapping

from genolang.compiler.lower.edges import candidate_ops
from genolang.compiler.lower.ir import CellSpec, GenoCell, GenoEdge, Genotype, OpImpl
from genolang.base.errors import ConfigError

__all__ = ["sample_cell", "sample_genotype", "sample_genotypes"]


def _candidates(cell: CellSpec, node: str) -> list[tuple[str, OpImpl]]:
    ops = list(candidate_ops(cell, node))
    if cell.zero == "V0":   # V0 ranks and chooses ignoring the zero op (§4.1.4)
        ops = [(label, impl) for label, impl in ops if label != "zero"]
    return ops


def sample_cell(cell: CellSpec, rng: random.Random) -> GenoCell:
    nodes = []
    table: dict[str, OpImpl] = {}
    rule = cell.select.rule
    for j, node in enumerate(cell.nodes):
        preds = list(cell.predecessors(node))
        ops = _candidates(cell, node)
        if not ops:
            raise ConfigError(f"cell `{cell.name}` node `{node}` has no candidate operations", cell.span)
        table.update(ops)
        keep = cell.select.keep(j)
        if rule == "darts":
            chosen = rng.sample(preds, min(keep, len(preds)))
            edges = tuple(GenoEdge(rng.choice(ops)[0], src) for src in chosen)
        elif rule in ("idarts", "xdarts"):
            pairs = [(label, src) for src in preds for label, _ in ops]
            edges = tuple(GenoEdge(label, src) for label, src in rng.sample(pairs, min(keep, len(pairs))))
        else:
            raise ConfigError(f"unknown selection rule `{rule}`", cell.span)
        nodes.append((node, edges))
    return GenoCell(cell.name, cell.inputs, tuple(nodes), cell.output or cell.nodes,
                    tuple(table.items()), reduction=cell.reduction, zero=cell.zero)


def sample_genotype(cells: Mapping[str, CellSpec], seed: int, *, name: str | None = None,
                    space: str | None = None, template: str | None = None) -> Genotype:
    """One random genotype over ``cells`` (cell type name → search cell)."""
    rng = random.Random(seed)
    sampled = tuple((key, sample_cell(cell, rng)) for key, cell in cells.items())
    provenance = (("algorithm", "random"), ("seed", str(seed)))
    return Genotype(name or f"random_{seed}", sampled, space=space, template=template, provenance=provenance)


def sample_genotypes(cells: Mapping[str, CellSpec], seed: int, count: int, **kw) -> list[Genotype]:
    """``count`` genotypes, the i-th drawn from seed ``seed + i`` (each reproducible alone)."""
    return [sample_genotype(cells, seed + i, name=f"random_{seed + i}", **kw) for i in range(count)]
