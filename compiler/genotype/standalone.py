"""What a genotype file needs to stand on its own, and what a spec copy needs beside it.

A genotype names its space and network; when they come from the user's spec (``space mine``
with ops defined there), a file holding only the genotype and ``use "spaces.geno"`` cannot be
read back. :func:`standalone_prelude` gives the `use` lines of the libraries the spec relies
on (the standard and spec libraries resolve from anywhere) and copies of the spec's own
definitions the genotype reaches, so the written file checks and compiles wherever it lies.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from genolang.base.errors import GenolangError
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.load import SymbolTable, library_path, load_path, resolve_use

# What a genotype can reach: experiments and other genotypes are never needed to build it.
COPIED = (S.OpDef, S.SpaceDef, S.CellDef, S.NetworkDef, S.MacroDef)
NOTE = "copied from the spec of the run, so that this file checks and compiles on its own"


def local_imports(spec: str | Path) -> list[tuple[Path, Path]]:
    """``(file, path relative to the spec's folder)`` of every file the spec reaches through
    a `use` relative to an importer: a copy of the spec needs them at the same places."""
    spec = Path(spec).resolve()
    table = load_path(spec)
    out = []
    for file in table.modules:
        path = Path(file).resolve()
        if path != spec and path.is_relative_to(spec.parent):
            out.append((path, path.relative_to(spec.parent)))
    return out


def standalone_prelude(table: SymbolTable, genotype: ir.Genotype,
                       needed: tuple[str, ...] = ()) -> tuple[tuple[str, ...], tuple[S.Stmt, ...]]:
    """(`use` paths, definitions) that make ``genotype`` readable outside ``table``'s spec:
    library files stay `use`d by their library name, the spec's own definitions that the
    genotype's space, network and ``needed`` names reach are copied."""
    local = [m for f, m in table.modules.items() if f == table.main or library_path(f) is None]
    uses: list[str] = []
    for module in local:
        for item in module.items:
            if isinstance(item, S.Use):
                try:
                    name = library_path(resolve_use(item.path, module.file))
                except (FileNotFoundError, GenolangError):   # reported when the spec loaded
                    name = None
                if name is not None and name not in uses:
                    uses.append(name)
    candidates = [item for m in local for item in m.items if isinstance(item, COPIED)]
    wanted = set(needed) | set((genotype.space or "").split("+")) | {genotype.template or ""}
    wanted |= {e.op for _, cell in genotype.cells for _, edges in cell.nodes for e in edges}
    chosen: set[int] = set()
    grew = True
    while grew:   # the closure: a space names ops, a network names cells, a cell names spaces
        grew = False
        for item in candidates:
            if item.name in wanted and id(item) not in chosen:
                chosen.add(id(item))
                wanted |= _names_in(item)
                grew = True
    copied = [item for item in candidates if id(item) in chosen]     # in source order
    if copied:
        copied[0] = dataclasses.replace(copied[0], comments=(NOTE,) + tuple(copied[0].comments))
    return tuple(uses), tuple(copied)


def _names_in(node) -> set[str]:
    """Every identifier-like string in an AST node (over-approximate: a stray match only
    copies one definition too many)."""
    if isinstance(node, str):
        return {node}
    if isinstance(node, (tuple, list)):
        return set().union(*(_names_in(n) for n in node)) if node else set()
    if dataclasses.is_dataclass(node):
        return set().union(*(_names_in(getattr(node, f.name)) for f in dataclasses.fields(node)
                             if f.name not in ("span", "comments", "note")))
    return set()
