"""Genotypes back from their JSON form (:func:`genolang.compiler.genotype.genotext.genotype_json`).

Checkpoints hold genotypes as JSON (they are loaded with ``weights_only``, which admits no
IR objects); the op implementations come from the search cells the genotype was derived
from, exactly as :func:`genolang.compiler.genotype.derive.derive_cell` takes them.
"""

from __future__ import annotations

from typing import Any, Mapping

from genolang.compiler.lower.edges import candidate_ops
from genolang.compiler.lower.ir import CellSpec, GenoCell, GenoEdge, Genotype

__all__ = ["genotype_from_json"]


def _cell(data: Mapping[str, Any], spec: CellSpec) -> GenoCell:
    table: dict = {}
    for node in spec.nodes:
        for label, impl in candidate_ops(spec, node):
            table.setdefault(label, impl)
    nodes = tuple((node, tuple(GenoEdge(op, src) for op, src in edges)) for node, edges in data["nodes"].items())
    return GenoCell(spec.name, tuple(data["inputs"]), nodes, tuple(data["output"]), tuple(table.items()),
                    reduction=bool(data["reduction"]), zero=data["zero"], span=spec.span)


def genotype_from_json(data: Mapping[str, Any], cells: Mapping[str, CellSpec]) -> Genotype:
    """The genotype ``data`` describes, its cells keyed as in ``cells`` (the search cells)."""
    return Genotype(data["name"], tuple((key, _cell(cell, cells[key])) for key, cell in data["cells"].items()),
                    space=data.get("space"), template=data.get("template"),
                    provenance=tuple((str(k), str(v)) for k, v in (data.get("provenance") or {}).items()))
