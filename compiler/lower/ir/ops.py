"""Operation expressions (primitives and the combinators over them), an operation
instantiated with its arguments (:class:`OpImpl`) and a labelled set of them (:class:`OpSpace`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Union

from genolang.base.errors import Span

from genolang.compiler.lower.ir.values import NO_SPAN, BinOp, Sym, Value

__all__ = ["Prim", "Seq", "Residual", "Sum", "Concat", "OpExpr", "OpImpl", "OpSpace", "free_symbols"]


@dataclass(frozen=True)
class Prim:
    """A primitive layer, e.g. ``Prim("dwconv", (("k", 3), ("stride", Sym("s"))))``.

    The catalogue of primitive names, their parameters, shape rules and builders is
    :mod:`genolang.compiler.lower.primitives`.
    """

    name: str
    args: tuple[tuple[str, Value], ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)

    def arg(self, key: str, default: Value | None = None) -> Value | None:
        for k, v in self.args:
            if k == key:
                return v
        return default


@dataclass(frozen=True)
class Seq:
    """``a >> b >> c``: apply in order."""

    parts: tuple["OpExpr", ...]


@dataclass(frozen=True)
class Residual:
    """``residual(body)``: ``x + body(x)`` when the shapes agree (stride 1, same channels),
    otherwise ``body(x)`` alone -- the MBConv convention."""

    body: "OpExpr"


@dataclass(frozen=True)
class Sum:
    """``sum(a, b, ...)``: branches on the same input, added."""

    parts: tuple["OpExpr", ...]


@dataclass(frozen=True)
class Concat:
    """``concat(a, b, ...)``: branches on the same input, concatenated on channels."""

    parts: tuple["OpExpr", ...]


OpExpr = Union[Prim, Seq, Residual, Sum, Concat]


@dataclass(frozen=True)
class OpImpl:
    """A fully instantiated operation (op definition with its parameters substituted).

    ``body`` serves stride 1, and stride 2 too when it uses the symbol ``s``;
    ``stride2`` (from a ``stride 2:`` branch) overrides it for stride 2. An op whose body
    does not use ``s`` and has no ``stride 2:`` branch cannot sit on a reducing edge.
    """

    name: str                      # the definition's name, e.g. "sep_conv"
    body: OpExpr
    stride2: OpExpr | None = None
    params: tuple[tuple[str, Value], ...] = ()   # the arguments it was instantiated with
    span: Span = field(default=NO_SPAN, compare=False)

    @cached_property
    def _body_uses_stride(self) -> bool:
        # asked for every edge of every cell: walking the body each time was the shape
        # pass's largest cost (the dataclass is frozen, so the answer never changes)
        return "s" in free_symbols(self.body)

    def supports_stride(self, stride: int) -> bool:
        if stride == 1:
            return True
        return self.stride2 is not None or self._body_uses_stride

    def expr_for(self, stride: int) -> OpExpr:
        if stride != 1 and self.stride2 is not None:
            return self.stride2
        if not self.supports_stride(stride):
            raise CompileError(
                f"operation `{self.name}` cannot take stride {stride}", self.span,
                hint="use the symbol `s` as a stride in its body, or add a `stride 2:` branch",
            )
        return self.body


@dataclass(frozen=True)
class OpSpace:
    """An ordered set of labelled operations, e.g. ``sep_conv_3 -> sep_conv(k=3)``."""

    name: str
    ops: tuple[tuple[str, OpImpl], ...]
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.ops)

    def impl(self, label: str) -> OpImpl:
        for name, impl in self.ops:
            if name == label:
                return impl
        raise KeyError(label)

    def __len__(self) -> int:
        return len(self.ops)


def free_symbols(obj: object) -> set[str]:
    """Names of the free symbols used anywhere inside a value or op expression."""
    if isinstance(obj, Sym):
        return {obj.name}
    if isinstance(obj, BinOp):
        return free_symbols(obj.left) | free_symbols(obj.right)
    if isinstance(obj, tuple):
        out: set[str] = set()
        for item in obj:
            out |= free_symbols(item)
        return out
    if isinstance(obj, Prim):
        return free_symbols(tuple(v for _, v in obj.args))
    if isinstance(obj, (Seq, Sum, Concat)):
        return free_symbols(obj.parts)
    if isinstance(obj, Residual):
        return free_symbols(obj.body)
    return set()
