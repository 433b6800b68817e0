"""Edges without modules (no torch): the special ops of the zero configurations, the candidate
list of a search-cell node, an edge's stride and what a genotype edge becomes when evaluated.

Shared by the shape pass and the module builders (:mod:`.build.ops` re-exports these names).
"""

from __future__ import annotations

from genolang.compiler.lower.ir import ZERO_CONFIGS, CellSpec, GenoCell, GenoEdge, OpImpl, Prim, Sym
from genolang.compiler.lower.primitives import is_prim
from genolang.base.errors import CompileError

__all__ = ["ZERO_OP", "RANDOM_OP", "SPECIAL_OPS", "candidate_ops", "special_op_of", "edge_stride",
           "is_zero_op", "is_random_op", "eval_edge_op", "apply_phase"]

ZERO_OP = OpImpl("zero", Prim("zero", (("stride", Sym("s")),)))
RANDOM_OP = OpImpl("random", Prim("random", (("stride", Sym("s")),)))
SPECIAL_OPS = {"zero": ZERO_OP, "random": RANDOM_OP}


def _zero_config(name: str, span=None) -> dict[str, str | None]:
    if name not in ZERO_CONFIGS:
        raise CompileError(f"unknown zero configuration `{name}`", span,
                           hint="one of " + ", ".join(ZERO_CONFIGS))
    return ZERO_CONFIGS[name]


def special_op_of(zero: str) -> str | None:
    """Label of the op a zero configuration appends to every search edge (or None)."""
    return _zero_config(zero)["search_op"]


def candidate_ops(cell: CellSpec, node: str) -> tuple[tuple[str, OpImpl], ...]:
    """The ops of every edge entering ``node`` of a search cell, in α column order.

    The special op of the cell's zero configuration comes last, unless the space already
    has an op with that label (then the user's own definition is used).
    """
    ops = cell.space_of(node).ops
    special = _zero_config(cell.zero, cell.span)["search_op"]
    if special is None or special in dict(ops):
        return ops
    return ops + ((special, SPECIAL_OPS[special]),)


def edge_stride(reduction: bool, src: str, inputs: tuple[str, ...]) -> int:
    """Stride 2 on the edges leaving a reduction cell's inputs, 1 elsewhere."""
    return 2 if reduction and src in inputs else 1


def is_zero_op(impl: OpImpl) -> bool:
    return is_prim(impl.body, "zero")


def is_random_op(impl: OpImpl) -> bool:
    return is_prim(impl.body, "random")


def eval_edge_op(impl: OpImpl, zero: str, phase: str) -> OpImpl | None:
    """What a genotype edge becomes in an evaluation (``eval``) or retraining net.

    Returns None when the edge is dropped (V0 ``exclude``: zero edges vanish), the zero op
    where ``random`` is replaced by ``zero`` (V3 retraining, V4), else the op itself.
    """
    if phase not in ("eval", "retrain"):
        raise CompileError(f"unknown phase `{phase}`", hint="`eval` or `retrain`")
    rule = _zero_config(zero)[phase]
    if rule == "exclude" and is_zero_op(impl):
        return None
    if rule == "zero" and is_random_op(impl):
        return ZERO_OP
    return impl


def apply_phase(cell: GenoCell, phase: str) -> GenoCell:
    """The cell as built in ``phase``: zero edges dropped or random edges zeroed per its
    zero configuration. ``zero``/``random`` labels missing from ``ops`` mean the built-ins."""
    table = {**SPECIAL_OPS, **dict(cell.ops)}
    nodes = []
    for node, edges in cell.nodes:
        kept: list[GenoEdge] = []
        for edge in edges:
            if edge.op not in table:
                kept.append(edge)              # the shape pass reports the unknown op
                continue
            impl = eval_edge_op(table[edge.op], cell.zero, phase)
            if impl is None:
                continue
            label = edge.op if impl is table[edge.op] else "zero"
            new = GenoEdge(label, edge.src)
            if label != edge.op and new in kept:
                continue                       # a zeroed random edge beside a zero edge
            kept.append(new)
        nodes.append((node, tuple(kept)))
    ops = dict(cell.ops)
    if "zero" in ops and not is_zero_op(ops["zero"]):
        raise CompileError(f"cell `{cell.name}` defines `zero` as another operation; "
                           "the zero configuration needs that label", cell.span)
    used = {e.op for _, edges in nodes for e in edges}
    for special in SPECIAL_OPS:
        if special in used and special not in ops:
            ops[special] = SPECIAL_OPS[special]
    return GenoCell(cell.name, cell.inputs, tuple(nodes), cell.output, tuple(ops.items()),
                    cell.reduction, cell.zero, cell.span)
