"""Derivation: α -> discrete cells (pure functions; icdarts-spec §1.5, §3.2, §4.3).

For node ``j`` with α of shape ``(n_predecessors, n_ops)`` (columns in
:func:`~genolang.compiler.lower.edges.candidate_ops` order):

* ``darts``: softmax per row; rank predecessors by their best op's weight, keep the top
  ``k``, each with that best op. Kept edges are listed strongest first.
* ``idarts``: softmax over the whole node; keep the ``k`` strongest (predecessor, op) pairs
  (two ops from one predecessor allowed).
* ``xdarts``: as idarts, keeping ``j + 2`` pairs.

Under V0 the ``zero`` op is excluded from ranking and choosing (it still takes part in the
softmax); under V2-V4 ``random`` (and ``zero``) are ordinary candidates. Ties go to the
earlier predecessor / op.
"""

from __future__ import annotations

from typing import Mapping

import torch

from genolang.compiler.lower.edges import candidate_ops
from genolang.compiler.lower.ir import CellSpec, GenoCell, GenoEdge, Genotype
from genolang.base.errors import CompileError

__all__ = ["derive_node", "derive_cell", "derive_genotype", "excluded_labels"]


def excluded_labels(cell: CellSpec) -> frozenset[str]:
    """Labels never chosen: ``zero`` under V0."""
    return frozenset({"zero"}) if cell.zero == "V0" else frozenset()


def _ranked(values: list[tuple[float, int, int]], k: int) -> list[tuple[int, int]]:
    """The k largest (value, row, col) entries; ties to the smaller (row, col)."""
    ordered = sorted(values, key=lambda v: (-v[0], v[1], v[2]))
    return [(row, col) for _, row, col in ordered[:k]]


def derive_node(cell: CellSpec, node: str, alpha: torch.Tensor,
                edge_weight: torch.Tensor | None = None) -> tuple[GenoEdge, ...]:
    """The kept edges of one node from its α (see the module docstring); ``edge_weight``
    (softmax(β) per predecessor) scales each row before ranking, as Cream's ``parse`` does."""
    preds = cell.predecessors(node)
    labels = [label for label, _ in candidate_ops(cell, node)]
    if tuple(alpha.shape) != (len(preds), len(labels)):
        raise CompileError(f"α of `{cell.name}.{node}` has shape {tuple(alpha.shape)}, "
                           f"expected {(len(preds), len(labels))}", cell.span)
    banned = excluded_labels(cell)
    allowed = [c for c, label in enumerate(labels) if label not in banned]
    alpha = alpha.detach().double().cpu()
    scale = None if edge_weight is None else edge_weight.detach().double().cpu()[:, None]
    if cell.select.node_softmax:
        w = torch.softmax(alpha.flatten(), 0).view_as(alpha)
        w = (w if scale is None else w * scale).tolist()
        k = cell.select.keep(cell.nodes.index(node))
        pairs = _ranked([(w[r][c], r, c) for r in range(len(preds)) for c in allowed], k)
    else:
        w = torch.softmax(alpha, -1)
        w = (w if scale is None else w * scale).tolist()
        best = []
        for r in range(len(preds)):
            col = max(allowed, key=lambda c: (w[r][c], -c))
            best.append((w[r][col], r, col))
        pairs = _ranked(best, cell.select.k)
    return tuple(GenoEdge(labels[c], preds[r]) for r, c in pairs)


def derive_cell(cell: CellSpec, alphas: Mapping[str, torch.Tensor],
                edge_weights: Mapping[str, torch.Tensor] | None = None) -> GenoCell:
    """A :class:`GenoCell` from a search cell and its α (node -> tensor)."""
    edge_weights = edge_weights or {}
    nodes = tuple((node, derive_node(cell, node, alphas[node], edge_weights.get(node))) for node in cell.nodes)
    table: dict = {}
    for node in cell.nodes:
        for label, impl in candidate_ops(cell, node):
            table.setdefault(label, impl)
    return GenoCell(cell.name, cell.inputs, nodes, cell.output, tuple(table.items()),
                    reduction=cell.reduction, zero=cell.zero, span=cell.span)


def derive_genotype(cells: Mapping[str, CellSpec], alphas: Mapping[str, Mapping[str, torch.Tensor]], *,
                    name: str = "searched", space: str | None = None, template: str | None = None,
                    edge_weights: Mapping[str, Mapping[str, torch.Tensor]] | None = None) -> Genotype:
    """A :class:`Genotype` with one derived cell per key of ``cells`` (``normal``,
    ``reduce``, or stage-specific keys).

    Example:
        >>> derive_genotype({"normal": normal, "reduce": reduce}, net_alphas).cell("normal")
    """
    edge_weights = edge_weights or {}
    derived = tuple((key, derive_cell(cell, alphas[key], edge_weights.get(key))) for key, cell in cells.items())
    return Genotype(name, derived, space=space, template=template)
