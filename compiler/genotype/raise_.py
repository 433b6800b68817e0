"""Genotype IR -> AST, so that the printer can write what a search found as spec text.

Edges are listed in a canonical order (by source state, then operation label), never in the
order of their α strength, so two genotypes differ in a diff exactly where they differ.
"""

from __future__ import annotations

from genolang.grammar import print_module, syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.ir.genotypes import print_genotypes_with


def genotype_to_ast(genotype: ir.Genotype, comments: tuple[str, ...] = ()) -> S.GenotypeDef:
    body: list[S.Stmt] = []
    if genotype.space:
        body.append(S.GenoSpace(name=genotype.space))
    if genotype.template:
        body.append(S.GenoTemplate(name=genotype.template))
    if genotype.provenance:
        body.append(S.Provenance(entries=tuple(S.Setting(key=k, value=S.Str(v)) for k, v in genotype.provenance)))
    if genotype.macro is not None:
        body.append(S.GenoMacro(entries=_macro_entries(genotype.macro)))
    for _, cell in genotype.cells:
        body.append(cell_to_ast(cell))
    return S.GenotypeDef(name=genotype.name, body=tuple(body), comments=comments)


def cell_to_ast(cell: ir.GenoCell) -> S.GenoCellDef:
    order = {state: i for i, state in enumerate(cell.inputs + tuple(n for n, _ in cell.nodes))}
    body: list[S.Stmt] = []
    if cell.inputs != ("c0", "c1"):
        body.append(S.Inputs(names=cell.inputs))
    if cell.reduction:
        body.append(S.Reduction())
    if cell.zero != "V1":
        body.append(S.Zero(config=cell.zero))
    for node, edges in cell.nodes:
        ordered = sorted(edges, key=lambda e: (order.get(e.src, len(order)), e.op))
        body.append(S.NodeDef(node=node, edges=tuple(S.EdgeRef(e.op, e.src) for e in ordered)))
    body.append(S.Output(names=cell.output))
    return S.GenoCellDef(name=cell.name, body=tuple(body))


def _macro_entries(macro: ir.MacroChoice) -> tuple[S.Stmt, ...]:
    entries: list[S.Stmt] = [S.Setting(key="version", value=S.Num(macro.version))]
    if macro.skips:
        entries.append(S.Setting(key="skips", value=S.ListV(tuple(S.Num(i) for i in macro.skips))))
    if macro.types:
        entries.append(S.Setting(key="types", value=S.ListV(tuple(S.Name(t) for t in macro.types))))
    return tuple(entries)


def genotype_text(genotype: ir.Genotype, uses: tuple[str, ...] = ("spaces.geno",),
                  comments: tuple[str, ...] = (), definitions: tuple[S.Stmt, ...] = ()) -> str:
    """A self-contained .geno file holding one genotype (with the `use` lines and the copied
    definitions it needs, see :mod:`genolang.compiler.genotype.standalone`)."""
    items: list[S.Stmt] = [S.Use(path=u) for u in uses]
    items.extend(definitions)
    items.append(genotype_to_ast(genotype, comments))
    return print_module(S.Module(tuple(items)))


print_genotypes_with(genotype_text)     # str(genotype) is its .geno text (ir/genotypes.py)
