"""Macro definitions -> :class:`ir.MacroSpec`: the template, the cell types and the depth
a hierarchical (macro) search works with."""

from __future__ import annotations

from genolang.base.errors import SpecSemanticError, did_you_mean
from genolang.base.limits import MAX_MACRO_DEPTH
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.bounds import check_once
from genolang.compiler.lower.lowering import Lowering, known_network

__all__ = ["lower_macro"]


def lower_macro(lowering: Lowering, name: str) -> ir.MacroSpec:
    definition = lowering.defs["macro"][name]
    check_once(definition.body, f"macro `{name}`")
    template, types, depth = None, (), 20
    for stmt in definition.body:
        if isinstance(stmt, S.MacroTemplate):
            template = known_network(lowering, stmt.name, stmt.span)
        elif isinstance(stmt, S.MacroTypes):
            for t in stmt.names:
                if t not in lowering.defs["cell"]:
                    raise SpecSemanticError(f"unknown cell type `{t}`", stmt.span,
                                            hint=did_you_mean(t, lowering.defs["cell"]))
            types = stmt.names
        elif isinstance(stmt, S.MacroDepth):
            depth = stmt.depth
            if not 1 <= depth <= MAX_MACRO_DEPTH:
                raise SpecSemanticError(f"macro depth {depth:,} is outside 1..{MAX_MACRO_DEPTH}", stmt.span,
                                        hint="see docs/limits.md")
    if definition.version not in (1, 2):
        raise SpecSemanticError(f"macro version {definition.version} does not exist", definition.span,
                                hint="version 1 searches skip inputs; version 2 searches cell types per depth")
    if template is None:
        raise SpecSemanticError(f"macro `{name}` needs `template NETWORK`", definition.span)
    if definition.version == 2 and len(types) < 2:
        raise SpecSemanticError("a version 2 macro needs at least two cell `types`", definition.span,
                                hint="add e.g. `types a, b, c, d`")
    spec = ir.MacroSpec(name, definition.version, template, tuple(types), depth, span=definition.span)
    return spec
