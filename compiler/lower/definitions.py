"""The lowered program and its parts, a leaf of the lowering stage: :class:`Program` (every
definition a spec file sees, by kind), :class:`Definitions` (one kind, lowered on first use),
:class:`Experiment`, and the span and input checks that every definition kind's lowering shares.
The lowering itself (:mod:`genolang.compiler.lower.program` and one module per definition kind)
imports this module; this module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from genolang.base.errors import Span, SpecSemanticError, did_you_mean, source_line
from genolang.grammar import syntax as S

from genolang.compiler.lower.load import SymbolTable

__all__ = ["Program", "Definitions", "Experiment", "KINDS", "check_inputs", "header_span"]

# definition kind -> the Program attribute that holds its definitions
KINDS = {"genotype": "genotypes", "network": "templates", "cell": "cells", "space": "spaces",
         "experiment": "experiments", "macro": "macros"}


@dataclass
class Experiment:
    """An experiment: its raw settings tree and the validated configuration."""

    name: str
    settings: dict[str, Any]
    config: Any
    span: Any = None


class Definitions(Mapping):
    """The lowered definitions of one kind, by name, in source order.

    Definitions of the main file are lowered (and so verified) when the file is loaded;
    imported ones the first time they are used -- a spec that imports the standard library
    does not pay for lowering the parts of it that it never touches.
    """

    def __init__(self, names: Mapping[str, object], lower_one: Callable[[str], object]):
        self._names = names
        self._lower_one = lower_one
        self._done: dict[str, object] = {}

    def __getitem__(self, name: str):
        if name in self._done:
            return self._done[name]
        if name not in self._names:
            raise KeyError(name)
        return self._lower_one(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def lowered(self, name: str):
        """The lowered definition if it has been lowered already, else None."""
        return self._done.get(name)

    def store(self, name: str, value):
        """Remember ``value`` as the lowered ``name``, and return it."""
        self._done[name] = value
        return value


@dataclass
class Program:
    """Everything a spec file defines or imports, lowered to IR, by kind and name."""

    file: str
    table: SymbolTable
    spaces: Definitions = None
    cells: Definitions = None
    templates: Definitions = None
    macros: Definitions = None
    experiments: Definitions = None
    genotypes: Definitions = None

    def local(self, kind: str) -> list[str]:
        return self.table.local(kind)

    def definitions(self, kind: str) -> Definitions:
        """The definitions of ``kind``: "genotype", "network", "cell", "space", "experiment" or "macro"."""
        return getattr(self, KINDS[kind])

    def first(self, kind: str, *, local_only: bool = False) -> str | None:
        """The default definition of ``kind`` when none is named: the first the main file defines,
        else (unless ``local_only``) the first one it sees; None when there is none."""
        table = self.definitions(kind)
        local = [n for n in self.local(kind) if n in table]
        if local or local_only:
            return local[0] if local else None
        return next(iter(table), None)

    def pick(self, kind: str, name: str | None = None):
        """The definition ``name`` of ``kind``, or :meth:`first` when ``name`` is None."""
        table = self.definitions(kind)
        if name is not None:
            if name not in table:
                raise SpecSemanticError(f"no {kind} named `{name}` in {self.file}",
                                        hint=did_you_mean(name, table) or (f"{kind}s: " + ", ".join(table) if table
                                                                           else f"the file defines no {kind}"))
            return table[name]
        first = self.first(kind)
        if first is None:
            raise SpecSemanticError(f"{self.file} defines no {kind}", hint=f"add a `{kind}` definition or name one")
        return table[first]

    @property
    def ops(self) -> dict[str, S.OpDef]:
        return self.table.defs["op"]


def check_inputs(cell: str, inputs: tuple[str, ...], span) -> None:
    """A cell reads two states (the outputs of the two previous cells) or one (the previous
    cell's, as NAS-Bench-201 cells do)."""
    if len(inputs) not in (1, 2):
        raise SpecSemanticError(f"cell `{cell}` has {len(inputs)} input{'s' if len(inputs) != 1 else ''}; "
                                "a cell reads two (the outputs of the two previous cells) or one (the "
                                "previous cell's output)", span, hint="write `inputs c0, c1` or `inputs c0`")
    if len(inputs) == 2 and inputs[0] == inputs[1]:
        raise SpecSemanticError(f"cell `{cell}` names the input `{inputs[0]}` twice", span)


def header_span(span):
    """The first line of a definition (``cell reduce like normel {``) for a multi-line span, so that
    the caret underlines the header rather than one character."""
    if span is None or not span.known or span.end_line == span.line:
        return span
    line = source_line(span.file, span.line)
    if line is None:
        return span
    header = line[span.column - 1:].split("#")[0].rstrip()
    if header.endswith("{"):
        header = header[:-1].rstrip()
    if not header:
        return span
    return Span(span.file, span.line, span.column, span.line, span.column + len(header))
