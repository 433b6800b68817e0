"""Genotypes: the discrete cells a search keeps (one operation per kept edge) and the
choices of a hierarchical search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from genolang.base.errors import Span

from genolang.compiler.lower.ir.cells import CellGraph
from genolang.compiler.lower.ir.ops import OpImpl
from genolang.compiler.lower.ir.values import NO_SPAN

__all__ = ["GenoEdge", "GenoCell", "MacroChoice", "Genotype", "print_genotypes_with"]


@dataclass(frozen=True)
class GenoEdge:
    op: str          # label within the cell's op table, e.g. "sep_conv_3"
    src: str         # a cell input ("c0", "c1") or an earlier node ("n1")


@dataclass(frozen=True)
class GenoCell:
    """A discrete cell: each node sums ``op(src)`` over its edges (any number, zero allowed)."""

    name: str
    inputs: tuple[str, ...]
    nodes: tuple[tuple[str, tuple[GenoEdge, ...]], ...]
    output: tuple[str, ...]
    ops: tuple[tuple[str, OpImpl], ...]      # label -> implementation, for building
    reduction: bool = False
    zero: str = "V1"
    span: Span = field(default=NO_SPAN, compare=False)

    def edges_of(self, node: str) -> tuple[GenoEdge, ...]:
        return dict(self.nodes)[node]

    def impl(self, label: str) -> OpImpl:
        return dict(self.ops)[label]

    def graph(self) -> CellGraph:
        g = CellGraph(self.name, self.inputs, tuple(n for n, _ in self.nodes), self.output)
        for node, edges in self.nodes:
            for e in edges:
                g.add_edge(e.src, node, e.op)
        return g


@dataclass(frozen=True)
class MacroChoice:
    """Decisions of a hierarchical search: version 1 keeps one skip source per cell
    (``skips[k]`` = index of the earlier cell output, -1 = stem); version 2 keeps one cell
    type per depth (``types[d]``)."""

    version: int
    skips: tuple[int, ...] = ()
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Genotype:
    """One operation per kept edge, one cell per cell type (and per stage when the
    template has stages, keyed ``stage1.normal``), plus macro choices and provenance."""

    name: str
    cells: tuple[tuple[str, GenoCell], ...]
    space: str | None = None
    template: str | None = None
    macro: MacroChoice | None = None
    provenance: tuple[tuple[str, str], ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)

    def cell(self, name: str) -> GenoCell:
        return dict(self.cells)[name]

    def __str__(self) -> str:
        """The genotype as .geno text, as a search writes it (``print(result.genotype)``)."""
        return _PRINTER[0](self) if _PRINTER else repr(self)

    def __repr__(self) -> str:
        # the dataclass repr spells out every operation's IR and span: kilobytes per genotype
        shown = "; print() shows its text" if _PRINTER else ""
        return f"<Genotype {self.name!r}: cells {', '.join(k for k, _ in self.cells)}{shown}>"


# The .geno printer lives on the genotype floor (compiler/genotype/raise_.py), which installs it
# here when it loads (compiler/genotype/__init__.py imports it): the IR never imports a later
# floor. Every path that hands a genotype to a user (genolang.api, the CLI, a search) loads it.
_PRINTER: list[Callable[[Genotype], str]] = []


def print_genotypes_with(printer: Callable[[Genotype], str]) -> None:
    """Make ``str(genotype)`` the genotype's .geno text, as ``printer`` writes it."""
    _PRINTER[:] = [printer]
