"""The AST's values and op expressions: numbers, names, tuples, lists, calls and ``>>`` chains.

Shared by every statement of :mod:`genolang.grammar.syntax`, which re-exports them; spans are
excluded from equality, as there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from genolang.base.errors import Span

NO_SPAN = Span()


def span_field() -> Span:
    """A node's source span: kept, but never compared."""
    return field(default=NO_SPAN, compare=False, repr=False)


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Num:
    value: int | float
    span: Span = span_field()


@dataclass(frozen=True)
class Str:
    value: str
    span: Span = span_field()


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span = span_field()


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = span_field()


@dataclass(frozen=True)
class Neg:
    operand: "Value"
    span: Span = span_field()


@dataclass(frozen=True)
class BinOp:
    op: str                 # one of + - * //
    left: "Value"
    right: "Value"
    span: Span = span_field()


@dataclass(frozen=True)
class TupleV:
    items: tuple["Value", ...]
    span: Span = span_field()


@dataclass(frozen=True)
class ListV:
    items: tuple["Value", ...]
    span: Span = span_field()


Value = Union[Num, Str, Bool, Name, Neg, BinOp, TupleV, ListV]

# ----------------------------------------------------------------------------- op expressions


@dataclass(frozen=True)
class Kwarg:
    name: str
    value: Value
    span: Span = span_field()


@dataclass(frozen=True)
class Call:
    """``name`` or ``name(k=3, ...)`` or a combinator ``residual(expr)``/``sum(a, b)``.

    ``args`` holds keyword arguments (:class:`Kwarg`) and positional op expressions (the
    branches of a combinator). ``has_parens`` keeps ``f()`` apart from ``f``.
    """

    name: str
    args: tuple[Union[Kwarg, "Expr"], ...] = ()
    has_parens: bool = False
    span: Span = span_field()

    @property
    def kwargs(self) -> tuple[Kwarg, ...]:
        return tuple(a for a in self.args if isinstance(a, Kwarg))

    @property
    def positional(self) -> tuple["Expr", ...]:
        return tuple(a for a in self.args if not isinstance(a, Kwarg))


@dataclass(frozen=True)
class Chain:
    """``a >> b >> c``."""

    parts: tuple["Expr", ...]
    span: Span = span_field()


Expr = Union[Call, Chain]
