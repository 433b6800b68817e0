"""Settings that would otherwise be silently absurd: a statement a definition may give once (a
cell's `nodes`, a network's `cells`, ...) given twice in one body, where the later one would
win (a cell `like` another still overrides what it inherits: one body is checked at a time);
a position listed twice (`reduce at 1, 1`); a `top k` no node can honour."""

from __future__ import annotations

from typing import Iterable

from genolang.base.errors import SpecSemanticError
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir

__all__ = ["check_once", "check_positions", "check_top_k"]

_KEYS = {S.Inputs: "inputs", S.Nodes: "nodes", S.Select: "select", S.Zero: "zero", S.Reduction: "reduction",
         S.Output: "output", S.InputShape: "input", S.Classes: "classes", S.Channels: "channels", S.Stem: "stem",
         S.Tail: "tail", S.Cells: "cells", S.Heads: "heads", S.Aux: "aux", S.MacroTemplate: "template",
         S.MacroTypes: "types", S.MacroDepth: "depth"}


def _key(stmt: S.Stmt) -> str | None:
    if isinstance(stmt, S.Edges):
        return "edges" if stmt.node is None else f"edges for {stmt.node}"
    if isinstance(stmt, S.Replace):
        return f"replace {stmt.index}"
    return _KEYS.get(type(stmt))


def check_once(body: Iterable[S.Stmt], what: str) -> None:
    """Refuse a statement of ``body`` (of ``what``, e.g. "cell `normal`") given twice."""
    seen: dict[str, S.Stmt] = {}
    for stmt in body:
        key = _key(stmt)
        if key is None:
            continue
        if key in seen:
            first = seen[key].span
            raise SpecSemanticError(f"{what} gives `{key}` twice; the second would silently replace the first",
                                    stmt.span, hint=f"keep one (the first is at line {first.line})")
        seen[key] = stmt


def check_positions(positions: Iterable[int], what: str, span) -> None:
    """Refuse a position listed twice (``reduce at 1, 1``)."""
    seen: set[int] = set()
    for position in positions:
        if position in seen:
            raise SpecSemanticError(f"{what} lists position {position} twice", span,
                                    hint="list each position once")
        seen.add(position)


def check_top_k(cell: str, select: ir.Selection, stmt, inputs: int, candidates) -> None:
    """Refuse a ``top k`` no node can honour: more predecessors (darts) or (predecessor, op)
    pairs (idarts) than the cell's largest node has."""
    if stmt is None or select.rule not in ("darts", "idarts"):
        return
    sizes = [(inputs + i) * (len(space.ops) if select.rule == "idarts" else 1)
             for i, (_, space) in enumerate(candidates)]
    most = max(sizes, default=0)
    if select.k > most:
        what = "predecessors" if select.rule == "darts" else "(predecessor, operation) pairs"
        raise SpecSemanticError(f"`select {select.rule} top {select.k}`: no node of cell `{cell}` has more than "
                                f"{most} {what}", stmt.span, hint=f"k is at most {most} here")
