"""Network definitions -> :class:`ir.NetworkTemplate`: input, classes, channels, stem, tail,
the cell slots with their reductions and replacements, distillation and auxiliary heads."""

from __future__ import annotations

from genolang.base.errors import SpecSemanticError
from genolang.base.limits import MAX_CELLS, MAX_CHANNELS, MAX_CLASSES, MAX_INPUT_CHANNELS, MAX_RESOLUTION
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.bounds import check_once, check_positions
from genolang.compiler.lower.lowering import Lowering

__all__ = ["DEFAULT_STEM", "lower_network"]

DEFAULT_STEM = ir.Seq((ir.Prim("conv", (("k", 3), ("out", ir.BinOp("*", 3, ir.Sym("C"))))), ir.Prim("bn")))


def lower_network(lowering: Lowering, name: str) -> ir.NetworkTemplate:
    definition = lowering.defs["network"][name]
    check_once(definition.body, f"network `{name}`")
    shape = classes = channels = None
    stem, tail, cells_stmt, replaces, heads, aux = DEFAULT_STEM, None, None, {}, (), None
    for stmt in definition.body:
        if isinstance(stmt, S.InputShape):
            shape = stmt.shape
        elif isinstance(stmt, S.Classes):
            classes = stmt.count
        elif isinstance(stmt, S.Channels):
            channels = stmt.count
        elif isinstance(stmt, S.Stem):
            stem = _stem(lowering, stmt.expr)
        elif isinstance(stmt, S.Tail):
            tail = lowering.ops.instantiate(stmt.expr).expr_for(1)
        elif isinstance(stmt, S.Cells):
            cells_stmt = stmt
        elif isinstance(stmt, S.Replace):
            replaces[stmt.index] = stmt
        elif isinstance(stmt, S.Heads):
            heads = stmt
        elif isinstance(stmt, S.Aux):
            aux = stmt
    for what, value in (("input", shape), ("classes", classes), ("channels", channels), ("cells", cells_stmt)):
        if value is None:
            example = {"input": "input 3x32x32", "classes": "classes 10", "channels": "channels 16",
                       "cells": "cells 8 reduce at 2, 5"}[what]
            raise SpecSemanticError(f"network `{name}` needs `{what}`", definition.span, hint=f"add `{example}`")
    _check_network_sizes(definition.body)
    count = cells_stmt.count
    check_positions(cells_stmt.reduce_at, "`reduce at`", cells_stmt.span)
    if isinstance(heads, S.Heads):
        check_positions(heads.after, "`heads distill after`", heads.span)
    for index in cells_stmt.reduce_at:
        if not 0 <= index < count:
            raise SpecSemanticError(f"reduction position {index} is outside the {count} cells (0..{count - 1})",
                                    cells_stmt.span, hint="positions are 0-based")
    slots = []
    cycle = cells_stmt.cycle
    for i in range(count):
        reduction = i in cells_stmt.reduce_at
        cell = cycle[i % len(cycle)] if cycle else ("reduce" if reduction else "normal")
        replacement = None
        if i in replaces:
            impl = lowering.ops.instantiate(replaces[i].expr, "replacement")
            # A replacement is a fixed operation: at a reduction slot it takes stride 2 through
            # `s` or an `on stride 2` form, or else it states its own strides (`stride=2`).
            replacement = impl.expr_for(2) if reduction and impl.supports_stride(2) else impl.body
        slots.append(ir.Slot(None if replacement is not None else cell, replacement, reduction))
    for index, stmt in replaces.items():
        if not 0 <= index < count:
            raise SpecSemanticError(f"cannot replace cell {index}: there are {count} cells (0..{count - 1})",
                                    stmt.span)
    distill = heads.after if isinstance(heads, S.Heads) else ()
    for index in distill:
        if not 0 <= index < count:
            raise SpecSemanticError(f"distill head after cell {index}, but there are {count} cells", heads.span)
    aux_after = None
    if aux is not None:
        if not 0 <= aux.after < count:
            raise SpecSemanticError(f"auxiliary head after cell {aux.after}, but there are {count} cells", aux.span)
        aux_after = aux.after
    template = ir.NetworkTemplate(name, tuple(shape), classes, channels, stem, tuple(slots),
                                  tuple(distill), aux_after, tail=tail, span=definition.span)
    return template

def _stem(lowering: Lowering, expr: S.Expr) -> ir.OpExpr | None:
    if isinstance(expr, S.Call) and expr.name == "identity" and not expr.has_parens:
        return None
    return lowering.ops.instantiate(expr).expr_for(1)


# (statement type, attribute, what it is, smallest, largest)
_NETWORK_SIZES = (
    (S.Cells, "count", "cells", 1, MAX_CELLS),
    (S.Channels, "count", "channels", 1, MAX_CHANNELS),
    (S.Classes, "count", "classes", 1, MAX_CLASSES),
)


def _check_network_sizes(body) -> None:
    """Every size of a network within its documented limit, before any is used."""
    for stmt in body:
        for kind, attribute, what, low, high in _NETWORK_SIZES:
            if isinstance(stmt, kind):
                value = getattr(stmt, attribute)
                if not low <= value <= high:
                    raise SpecSemanticError(f"{value:,} {what} is outside the limits {low}..{high:,}", stmt.span,
                                            hint="see docs/limits.md")
        if isinstance(stmt, S.InputShape):
            channels, height, width = stmt.shape
            if not 1 <= channels <= MAX_INPUT_CHANNELS:
                raise SpecSemanticError(f"an input of {channels:,} channels is outside the limits "
                                        f"1..{MAX_INPUT_CHANNELS:,}", stmt.span, hint="see docs/limits.md")
            if not (1 <= height <= MAX_RESOLUTION and 1 <= width <= MAX_RESOLUTION):
                raise SpecSemanticError(f"an input of {height:,}x{width:,} pixels is outside the limits "
                                        f"1..{MAX_RESOLUTION} per side", stmt.span, hint="see docs/limits.md")
