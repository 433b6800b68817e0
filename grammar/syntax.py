"""The AST of .geno files: frozen dataclasses that mirror the syntax and carry source spans.

Spans are excluded from equality, so ``parse(print(ast)) == ast`` compares meaning and
layout-independent content. Comments are part of the AST (``comments`` = the ``#`` lines
just before a statement, ``note`` = a comment at the end of its first line), so the printer
keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from genolang.base.errors import Span
from genolang.grammar.expressions import (  # noqa: F401  (re-exported: the AST is one namespace)
    NO_SPAN, Value, Expr, Num, Str, Bool, Name, Neg, BinOp, TupleV, ListV, Kwarg, Call, Chain,
    span_field as _span,
)


# ----------------------------------------------------------------------------- statements


@dataclass(frozen=True, kw_only=True)
class Stmt:
    """Base of everything that sits on its own line and may carry comments."""

    span: Span = _span()
    comments: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Use(Stmt):
    path: str


@dataclass(frozen=True)
class Param:
    name: str
    default: Value | None = None
    span: Span = _span()


@dataclass(frozen=True, kw_only=True)
class OpDef(Stmt):
    name: str
    params: tuple[Param, ...] | None   # None: no parentheses
    body: Expr
    stride2: Expr | None = None


# operation spaces


@dataclass(frozen=True)
class SpaceEntry:
    label: str
    op: Expr | None = None          # None: the op named like the label, without arguments
    span: Span = _span()
    comments: tuple[str, ...] = ()  # kept for entries of a space block (one per line)
    note: str | None = None


@dataclass(frozen=True)
class SpaceLit:
    entries: tuple[SpaceEntry, ...]
    span: Span = _span()


@dataclass(frozen=True)
class SpaceRef:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class SpaceBin:
    op: str                         # "|" union, "-" difference
    left: "SpaceExpr"
    right: "SpaceExpr"
    span: Span = _span()


SpaceExpr = Union[SpaceLit, SpaceRef, SpaceBin]


@dataclass(frozen=True, kw_only=True)
class SpaceDef(Stmt):
    name: str
    expr: SpaceExpr


# cells (search cells and genotype cells share their statements)


@dataclass(frozen=True, kw_only=True)
class Inputs(Stmt):
    names: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Nodes(Stmt):
    count: int


@dataclass(frozen=True, kw_only=True)
class Edges(Stmt):
    node: str | None                 # None: every node
    space: SpaceExpr


@dataclass(frozen=True, kw_only=True)
class Select(Stmt):
    rule: str
    k: int | None = None


@dataclass(frozen=True, kw_only=True)
class Zero(Stmt):
    config: str


@dataclass(frozen=True, kw_only=True)
class Reduction(Stmt):
    pass


@dataclass(frozen=True, kw_only=True)
class Output(Stmt):
    names: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CellDef(Stmt):
    name: str
    like: str | None
    body: tuple[Stmt, ...]


# network templates


@dataclass(frozen=True, kw_only=True)
class InputShape(Stmt):
    shape: tuple[int, int, int]


@dataclass(frozen=True, kw_only=True)
class Classes(Stmt):
    count: int


@dataclass(frozen=True, kw_only=True)
class Channels(Stmt):
    count: int


@dataclass(frozen=True, kw_only=True)
class Stem(Stmt):
    expr: Expr


@dataclass(frozen=True, kw_only=True)
class Tail(Stmt):
    """Applied to the last cell's output before the global pool and the linear classifier."""

    expr: Expr


@dataclass(frozen=True, kw_only=True)
class Cells(Stmt):
    count: int
    reduce_at: tuple[int, ...] = ()
    cycle: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Replace(Stmt):
    index: int
    expr: Expr


@dataclass(frozen=True, kw_only=True)
class Heads(Stmt):
    after: tuple[int, ...]           # empty: `heads none`


@dataclass(frozen=True, kw_only=True)
class Aux(Stmt):
    after: int


@dataclass(frozen=True, kw_only=True)
class NetworkDef(Stmt):
    name: str
    body: tuple[Stmt, ...]


# hierarchical macro graphs


@dataclass(frozen=True, kw_only=True)
class MacroTemplate(Stmt):
    name: str


@dataclass(frozen=True, kw_only=True)
class MacroTypes(Stmt):
    names: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class MacroDepth(Stmt):
    depth: int


@dataclass(frozen=True, kw_only=True)
class MacroDef(Stmt):
    name: str
    version: int
    body: tuple[Stmt, ...]


# experiments (a generic settings tree, validated by pydantic after lowering)


@dataclass(frozen=True, kw_only=True)
class Setting(Stmt):
    key: str
    value: Value


@dataclass(frozen=True, kw_only=True)
class Block(Stmt):
    key: str
    entries: tuple[Stmt, ...]        # Setting | Block


@dataclass(frozen=True, kw_only=True)
class ExperimentDef(Stmt):
    name: str
    entries: tuple[Stmt, ...]


# genotypes


@dataclass(frozen=True)
class EdgeRef:
    op: str
    src: str
    span: Span = _span()


@dataclass(frozen=True, kw_only=True)
class NodeDef(Stmt):
    node: str
    edges: tuple[EdgeRef, ...]       # empty: `n2 = 0`, a node with no inputs


@dataclass(frozen=True, kw_only=True)
class GenoCellDef(Stmt):
    name: str                        # "normal", or "stage1.normal" for per-stage cells
    body: tuple[Stmt, ...]


@dataclass(frozen=True, kw_only=True)
class GenoSpace(Stmt):
    name: str


@dataclass(frozen=True, kw_only=True)
class GenoTemplate(Stmt):
    name: str


@dataclass(frozen=True, kw_only=True)
class Provenance(Stmt):
    entries: tuple[Stmt, ...]


@dataclass(frozen=True, kw_only=True)
class GenoMacro(Stmt):
    entries: tuple[Stmt, ...]


@dataclass(frozen=True, kw_only=True)
class GenotypeDef(Stmt):
    name: str
    body: tuple[Stmt, ...]


# the file


@dataclass(frozen=True)
class Module:
    """A whole .geno file: its statements and any comments after the last one."""

    items: tuple[Stmt, ...]
    trailing: tuple[str, ...] = ()
    file: str = field(default="<string>", compare=False)


DEFINITIONS = (OpDef, SpaceDef, CellDef, NetworkDef, MacroDef, ExperimentDef, GenotypeDef)
