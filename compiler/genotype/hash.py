"""Genotype identity: a canonical hash of a cell and of a whole genotype.

Two cells get the same hash exactly when their graphs are isomorphic with the inputs held in
place: the operands of a sum commute, intermediate nodes may be numbered in any order, and the
order of the output concat does not count. Edge labels (the op of each edge), the cell inputs
(``c0`` and ``c1`` are different states: the previous-previous and the previous cell), the
reduction flag and the edges themselves do.

How: every state gets a structural signature, computed bottom-up (an input is its position; a
node is the sorted multiset of ``(op, signature of its source)``). Signatures are invariant
under isomorphism, so any isomorphism maps a node onto one of equal signature. The canonical
form is then the smallest encoding (nodes renamed by position, edges sorted, output sorted)
over the orderings that sort nodes by signature, trying every order within a group of equal
signatures. Groups are almost always singletons; cells have at most a handful of nodes.

Works on the IR (:class:`ir.GenoCell`, :class:`ir.Genotype`) and on the syntax tree
(``GenoCellDef``, ``GenotypeDef``), so ``geno diff`` can compare files without loading them.
Text only: no torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
from dataclasses import dataclass
from typing import Iterable

from genolang.compiler.lower import ir
from genolang.grammar import syntax as S

__all__ = ["CellShape", "canonical_cell", "cell_depth", "cell_hash", "cell_shape", "genotype_hash", "hash_lines", "same_architecture"]

HASH_CHARS = 16          # 64 bits: collisions are not a concern for any study's few hundred genotypes
MAX_TIE_ORDERINGS = 40320  # beyond this (8 fully interchangeable nodes) signatures alone decide


@dataclass(frozen=True)
class CellShape:
    """The part of a cell that identity looks at, whatever it was read from."""

    inputs: tuple[str, ...]
    nodes: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]   # node -> ((op, src), ...)
    output: tuple[str, ...]
    reduction: bool = False


def cell_shape(cell: ir.GenoCell | S.GenoCellDef) -> CellShape:
    if isinstance(cell, ir.GenoCell):
        return CellShape(tuple(cell.inputs), tuple((n, tuple((e.op, e.src) for e in edges)) for n, edges in cell.nodes),
                         tuple(cell.output), cell.reduction)
    inputs: tuple[str, ...] = ("c0", "c1")
    nodes, output, reduction = [], None, False
    for stmt in cell.body:
        if isinstance(stmt, S.Inputs):
            inputs = tuple(stmt.names)
        elif isinstance(stmt, S.Reduction):
            reduction = True
        elif isinstance(stmt, S.Output):
            output = tuple(stmt.names)
        elif isinstance(stmt, S.NodeDef):
            nodes.append((stmt.node, tuple((e.op, e.src) for e in stmt.edges)))
    return CellShape(inputs, tuple(nodes), output if output is not None else tuple(n for n, _ in nodes), reduction)


def _digest(obj: object) -> str:
    return hashlib.sha256(repr(obj).encode()).hexdigest()


def _signatures(shape: CellShape) -> dict[str, str]:
    sig: dict[str, str] = {name: _digest(("in", i)) for i, name in enumerate(shape.inputs)}
    edges = dict(shape.nodes)
    visiting: set[str] = set()

    def of(state: str) -> str:
        if state in sig:
            return sig[state]
        if state not in edges or state in visiting:   # undefined or cyclic: checked elsewhere
            return _digest(("unknown", state))
        visiting.add(state)
        sig[state] = _digest(("node", tuple(sorted((op, of(src)) for op, src in edges[state]))))
        visiting.discard(state)
        return sig[state]

    for node, _ in shape.nodes:
        of(node)
    return sig


def _encode(shape: CellShape, order: Iterable[str]) -> tuple:
    code = {name: ("i", i) for i, name in enumerate(shape.inputs)}
    order = list(order)
    code.update({node: ("n", j) for j, node in enumerate(order)})
    edges = dict(shape.nodes)
    unknown = lambda s: code.get(s, ("?", s))  # noqa: E731
    return (len(shape.inputs), shape.reduction,
            tuple(tuple(sorted((op, unknown(src)) for op, src in edges[n])) for n in order),
            tuple(sorted(unknown(s) for s in shape.output)))


def canonical_cell(cell: ir.GenoCell | S.GenoCellDef | CellShape) -> tuple:
    """The canonical form of a cell (a nested tuple): equal exactly for isomorphic cells."""
    shape = cell if isinstance(cell, CellShape) else cell_shape(cell)
    sig = _signatures(shape)
    groups: dict[str, list[str]] = {}
    for node, _ in shape.nodes:
        groups.setdefault(sig[node], []).append(node)
    ordered = [groups[k] for k in sorted(groups)]
    orderings = math.prod(math.factorial(len(g)) for g in ordered)
    if orderings > MAX_TIE_ORDERINGS:
        ordered = [[n] for g in ordered for n in g]   # all ties interchangeable in practice (empty nodes)
    best = None
    for choice in itertools.product(*(itertools.permutations(g) for g in ordered)):
        code = _encode(shape, (n for group in choice for n in group))
        if best is None or code < best:
            best = code
    return best if best is not None else _encode(shape, ())


def cell_hash(cell: ir.GenoCell | S.GenoCellDef | CellShape) -> str:
    return _digest(canonical_cell(cell))[:HASH_CHARS]


def _genotype_parts(genotype: ir.Genotype | S.GenotypeDef) -> tuple[list[tuple[str, object]], object]:
    if isinstance(genotype, ir.Genotype):
        macro = genotype.macro
        return list(genotype.cells), (macro.version, macro.skips, macro.types) if macro else None
    cells = [(c.name, c) for c in genotype.body if isinstance(c, S.GenoCellDef)]
    stmt = next((s for s in genotype.body if isinstance(s, S.GenoMacro)), None)
    macro = None
    if stmt is not None:
        from genolang.compiler.lower.genotype_lowering import _macro_choice  # the one reading of a macro block

        choice = _macro_choice(stmt)
        macro = (choice.version, choice.skips, choice.types)
    return cells, macro


def genotype_hash(genotype: ir.Genotype | S.GenotypeDef) -> str:
    """Hash of the architecture: every cell (by cell type) and the macro choice. The name,
    provenance, space name, comments and layout do not count."""
    cells, macro = _genotype_parts(genotype)
    return _digest((tuple(sorted((name, canonical_cell(c)) for name, c in cells)), macro))[:HASH_CHARS]


def cell_depth(cell: ir.GenoCell | S.GenoCellDef | CellShape) -> int:
    """The longest chain of intermediate nodes (a node fed only by the inputs has depth 1;
    Figures 3.5-3.8 of the dissertation)."""
    shape = cell if isinstance(cell, CellShape) else cell_shape(cell)
    edges = dict(shape.nodes)
    depth: dict[str, int] = {}

    def of(state: str, seen: frozenset = frozenset()) -> int:
        if state not in edges or state in seen:
            return 0
        if state not in depth:
            depth[state] = 1 + max((of(src, seen | {state}) for _, src in edges[state]), default=0)
        return depth[state]

    return max((of(n) for n, _ in shape.nodes), default=0)


def hash_lines(program, *, only_local: bool = True) -> list[str]:
    """``geno show --hash``: ``genotype NAME HASH`` and an indented ``cell NAME HASH`` per cell."""
    names = program.local("genotype") if only_local else list(program.genotypes)
    if not names:
        from genolang.base.errors import UserError

        raise UserError(f"{program.file} defines no genotype", hint="--hash prints the hash of each genotype")
    lines = []
    for name in names:
        genotype = program.genotypes[name]
        lines.append(f"genotype {name} {genotype_hash(genotype)}")
        lines.extend(f"  cell {key} {cell_hash(cell)}" for key, cell in genotype.cells)
    return lines


def same_architecture(a: S.Module, b: S.Module) -> str | None:
    """The shared hash when two files each hold one genotype of the same architecture and
    nothing else differs but writing (the genotype's name, provenance, comments, layout);
    else None."""
    from genolang.compiler.genotype.diff import diff_modules

    ga = [i for i in a.items if isinstance(i, S.GenotypeDef)]
    gb = [i for i in b.items if isinstance(i, S.GenotypeDef)]
    if len(ga) != 1 or len(gb) != 1 or genotype_hash(ga[0]) != genotype_hash(gb[0]):
        return None

    def without_cells(module: S.Module) -> S.Module:   # everything else must still agree
        items = tuple(dataclasses.replace(i, name="_", body=tuple(s for s in i.body if not isinstance(s, S.GenoCellDef)))
                      if isinstance(i, S.GenotypeDef) else i for i in module.items)
        return dataclasses.replace(module, items=items)

    return None if diff_modules(without_cells(a), without_cells(b)) else genotype_hash(ga[0])
