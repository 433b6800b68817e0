"""Space definitions -> :class:`ir.OpSpace`: literals, references and the algebra of `|` and `-`,
with cycles and depth refused."""

from __future__ import annotations

from typing import Mapping

from genolang.base.errors import SpecSemanticError, did_you_mean
from genolang.base.limits import MAX_REFERENCE_DEPTH
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.definitions import Definitions, header_span
from genolang.compiler.lower.lower_ops import OpLowering
from genolang.compiler.lower.lowering import cycle_error

__all__ = ["SpaceLowering"]


class SpaceLowering:
    """Lowers the spaces of ``defs`` into ``spaces`` (each once), ``ops`` instantiating their
    operations; the stack of spaces being lowered finds a space defined in terms of itself."""

    def __init__(self, defs: Mapping[str, Mapping[str, S.Stmt]], ops: OpLowering, spaces: Definitions):
        self.defs, self.ops, self.spaces = defs, ops, spaces
        self._stack: list[str] = []

    def space(self, name: str, span=None) -> ir.OpSpace:
        if self.spaces.lowered(name) is not None:
            return self.spaces.lowered(name)
        definition = self.defs["space"].get(name)
        if definition is None:
            raise SpecSemanticError(f"unknown space `{name}`", span,
                                    hint=did_you_mean(name, self.defs["space"]) or "define it with `space NAME { ... }`")
        if name in self._stack:
            members = self._stack[self._stack.index(name):]
            path = " -> ".join(members + [name])
            raise cycle_error("space", members, f"space `{name}` is defined in terms of itself: {path}",
                              header_span(definition.span), hint="a space cannot include itself, directly or "
                              "through other spaces")
        if len(self._stack) >= MAX_REFERENCE_DEPTH:
            raise SpecSemanticError(f"space `{name}` is built from spaces more than {MAX_REFERENCE_DEPTH} "
                                    "levels deep", header_span(definition.span), hint="see docs/limits.md")
        self._stack.append(name)
        try:
            ops = self.space_expr(definition.expr)
        finally:
            self._stack.pop()
        space = ir.OpSpace(name, ops, span=definition.span)
        self.spaces.store(name, space)
        return space

    def space_expr(self, expr: S.SpaceExpr) -> tuple[tuple[str, ir.OpImpl], ...]:
        if isinstance(expr, S.SpaceRef):
            return self.space(expr.name, expr.span).ops
        if isinstance(expr, S.SpaceLit):
            out: dict[str, ir.OpImpl] = {}
            for entry in expr.entries:
                if entry.label in out:
                    raise SpecSemanticError(f"label `{entry.label}` appears twice in this space", entry.span,
                                            hint="each label names one operation")
                call = entry.op if entry.op is not None else S.Call(entry.label, span=entry.span)
                out[entry.label] = self.ops.instantiate(call, entry.label)
            return tuple(out.items())
        left = dict(self.space_expr(expr.left))
        if expr.op == "|":
            for label, impl in self.space_expr(expr.right):
                if label in left and left[label] != impl:
                    raise SpecSemanticError(f"label `{label}` means different operations on the two sides of `|`",
                                            expr.span, hint="rename one of them")
                left.setdefault(label, impl)
            return tuple(left.items())
        removed = self._labels_of(expr.right)
        for label, span in removed:
            if label not in left:
                raise SpecSemanticError(f"cannot remove `{label}`: it is not in the space", span,
                                        hint=did_you_mean(label, left) or "labels: " + ", ".join(left))
        names = {label for label, _ in removed}
        return tuple((k, v) for k, v in left.items() if k not in names)

    def _labels_of(self, expr: S.SpaceExpr):
        if isinstance(expr, S.SpaceLit):
            return [(e.label, e.span) for e in expr.entries]
        return [(label, expr.span) for label, _ in self.space_expr(expr)]
