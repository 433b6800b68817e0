"""What every definition kind's lowering may ask of the lowering in progress
(:class:`Lowering`), and the error for a definition cycle.

:mod:`.program` drives the lowering; the module of each definition kind (:mod:`.space_lowering`,
:mod:`.cell_lowering`, :mod:`.network_lowering`, :mod:`.macro_lowering`,
:mod:`.genotype_lowering`, :mod:`.experiment_lowering`) receives the driver typed as this
protocol, so none of them imports the driver back.
"""

from __future__ import annotations

from typing import Mapping, Protocol

from genolang.base.errors import Span, SpecSemanticError, did_you_mean
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.lower_ops import OpLowering

__all__ = ["Lowering", "cycle_error", "known_network"]


class Lowering(Protocol):
    """The lowering of one symbol table: its definitions by kind, its operations, its spaces."""

    defs: Mapping[str, Mapping[str, S.Stmt]]
    ops: OpLowering

    def space(self, name: str, span: Span | None = None) -> ir.OpSpace:
        """The lowered space ``name`` (an error at ``span`` when there is none)."""

    def space_expr(self, expr: S.SpaceExpr) -> tuple[tuple[str, ir.OpImpl], ...]:
        """The (label, operation) pairs a space expression stands for."""


def cycle_error(kind: str, members, message: str, span, **kw) -> SpecSemanticError:
    """An error about a definition cycle; the same cycle found from another member is dropped."""
    error = SpecSemanticError(message, span, **kw)
    error.cycle = (kind, frozenset(members))
    return error


def known_network(lowering: Lowering, name: str, span: Span) -> str:
    """``name``, if the program defines a network of that name (a genotype's or a macro's
    template); else a located error with the nearest name."""
    if name not in lowering.defs["network"]:
        raise SpecSemanticError(f"unknown network `{name}`", span, hint=did_you_mean(name, lowering.defs["network"]))
    return name
