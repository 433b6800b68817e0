"""What every foreign format shares: operation-name maps, names, the neutral cell that each
reader fills and :func:`_build` turns into a genotype definition, the standalone spec text,
and the flattened cell that each writer reads."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import lru_cache

from genolang.base.errors import UserError, did_you_mean

from genolang.grammar import syntax as S
from genolang.grammar.parser import GRAMMAR
from genolang.grammar.printer import print_module

DARTS_TO_LABEL = {
    "none": "zero",
    "skip_connect": "skip",
    "max_pool_3x3": "max_pool_3",
    "avg_pool_3x3": "avg_pool_3",
    "sep_conv_3x3": "sep_conv_3",
    "sep_conv_5x5": "sep_conv_5",
    "dil_conv_3x3": "dil_conv_3",
    "dil_conv_5x5": "dil_conv_5",
    "conv_7x1_1x7": "conv_7x1_1x7",
}
_LABEL_TO_DARTS = {v: k for k, v in DARTS_TO_LABEL.items()}

NB201_TO_LABEL = {
    "none": "zero",
    "skip_connect": "skip",
    "nor_conv_1x1": "nor_conv_1",
    "nor_conv_3x3": "nor_conv_3",
    "avg_pool_3x3": "avg_pool_3",
}
_LABEL_TO_NB201 = {v: k for k, v in NB201_TO_LABEL.items()}

_SQUARE = re.compile(r"^(.*_(?:conv|pool))_(\d+)x\2$")
_SIZED = re.compile(r"^(.*_(?:conv|pool))_(\d+)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def darts_label(name: str) -> str:
    """DARTS op name -> genolang label (``sep_conv_3x3`` -> ``sep_conv_3``)."""
    if name in DARTS_TO_LABEL:
        return DARTS_TO_LABEL[name]
    m = _SQUARE.match(name)
    return f"{m.group(1)}_{m.group(2)}" if m else name


def darts_op_name(label: str) -> str:
    """genolang label -> DARTS op name, the inverse of :func:`darts_label`."""
    if label in _LABEL_TO_DARTS:
        return _LABEL_TO_DARTS[label]
    m = _SIZED.match(label)
    return f"{m.group(1)}_{m.group(2)}x{m.group(2)}" if m else label


def nb201_label(name: str) -> str:
    return NB201_TO_LABEL[name]


def nb201_op_name(label: str) -> str:
    return _LABEL_TO_NB201[label]


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """Every word the grammar reserves (its string literals that look like names)."""
    text = GRAMMAR.read_text(encoding="utf-8")
    return frozenset(w for w in re.findall(r'"([^"\\]*)"', text) if _NAME.match(w))


def check_name(name: str, what: str = "genotype name") -> str:
    """Return ``name`` if it can be written as a genolang name, else raise a UserError."""
    if not _NAME.match(name or ""):
        raise UserError(f"`{name}` is not a valid {what}",
                        hint="names use letters, digits and `_`, and do not start with a digit")
    if name in keywords():
        raise UserError(f"`{name}` is a reserved word and cannot be a {what}",
                        hint=f"try `{name}_` or another name")
    return name


def _sanitize(name: str) -> str:
    out = re.sub(r"[^A-Za-z0-9_]", "_", name.strip()).lower() or "imported"
    if out[0].isdigit():
        out = "g_" + out
    return out + "_" if out in keywords() else out


@dataclass
class _Cell:
    name: str
    inputs: tuple[str, ...]
    nodes: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # node, [(label, src)]
    output: tuple[str, ...] | None = None
    reduction: bool = False


def _build(name: str, space: str, fmt: str, source: str | None, cells: list[_Cell]) -> S.GenotypeDef:
    body: list[S.Stmt] = [S.GenoSpace(name=space)]
    entries = [S.Setting(key="format", value=S.Str(fmt))]
    if source:
        entries.append(S.Setting(key="source", value=S.Str(source)))
    body.append(S.Provenance(entries=tuple(entries)))
    for cell in cells:
        bad = [op for _, edges in cell.nodes for op, _ in edges if not _NAME.match(op)]
        if bad:     # every label is written into spec text: never anything but a name
            raise UserError(f"`{bad[0][:60]}` is not an operation name",
                            hint="operation names use letters, digits and `_`")
        stmts: list[S.Stmt] = [S.Inputs(names=cell.inputs)]
        if cell.reduction:
            stmts.append(S.Reduction())
        for node, edges in cell.nodes:
            stmts.append(S.NodeDef(node=node, edges=tuple(S.EdgeRef(op, src) for op, src in edges)))
        if cell.output is not None:
            stmts.append(S.Output(names=cell.output))
        body.append(S.GenoCellDef(name=cell.name, body=tuple(stmts)))
    return S.GenotypeDef(name=name, body=tuple(body))


def genotype_text(definition: S.GenotypeDef) -> str:
    """Canonical .geno text of one genotype definition."""
    return print_module(S.Module((definition,)))


def standalone_text(definition: S.GenotypeDef, uses: tuple[str, ...], template: str | None) -> str:
    """A spec file that checks and compiles by itself: ``use`` lines for the files defining
    the genotype's space and template, then the genotype with ``template`` set."""
    body = [s for s in definition.body if not isinstance(s, S.GenoTemplate)]
    if template is not None:
        at = next((i + 1 for i, s in enumerate(body) if isinstance(s, S.GenoSpace)), 0)
        body.insert(at, S.GenoTemplate(name=check_name(template, "network name")))
    items = tuple(S.Use(path=path) for path in dict.fromkeys(uses))
    return print_module(S.Module(items + (dataclasses.replace(definition, body=tuple(body)),)))


def find_genotype(module: S.Module, name: str | None = None) -> S.GenotypeDef:
    """The genotype named ``name`` in a module, or its only genotype."""
    genotypes = [i for i in module.items if isinstance(i, S.GenotypeDef)]
    if name is not None:
        for g in genotypes:
            if g.name == name:
                return g
        raise UserError(f"{module.file} has no genotype `{name}`",
                        hint=did_you_mean(name, [g.name for g in genotypes])
                        or ("genotypes: " + ", ".join(g.name for g in genotypes) if genotypes else None))
    if not genotypes:
        raise UserError(f"{module.file} defines no genotype", hint="export reads `genotype NAME { ... }`")
    if len(genotypes) > 1:
        raise UserError(f"{module.file} defines {len(genotypes)} genotypes; choose one with --genotype",
                        hint="genotypes: " + ", ".join(g.name for g in genotypes))
    return genotypes[0]


@dataclass
class _Flat:
    """A genotype cell as index lists, ready to write in another tool's format."""

    name: str
    inputs: tuple[str, ...]
    nodes: list[tuple[S.NodeDef, list[tuple[str, int]]]]
    output: list[int]
    output_stmt: S.Output | None


def genotype_cells(definition: S.GenotypeDef) -> dict[str, S.GenoCellDef]:
    return {c.name: c for c in definition.body if isinstance(c, S.GenoCellDef)}


def _flatten(cell: S.GenoCellDef) -> _Flat:
    inputs: tuple[str, ...] = ("c0", "c1")
    nodes: list[S.NodeDef] = []
    output_stmt = None
    for stmt in cell.body:
        if isinstance(stmt, S.Inputs):
            inputs = stmt.names
        elif isinstance(stmt, S.NodeDef):
            nodes.append(stmt)
        elif isinstance(stmt, S.Output):
            output_stmt = stmt
    index = {n: i for i, n in enumerate(inputs)}
    flat_nodes = []
    for node in nodes:
        edges = []
        for e in node.edges:
            if e.src not in index:
                raise UserError(f"cell `{cell.name}` node `{node.node}` reads `{e.src}`, which is not "
                                "computed before it", e.span,
                                did_you_mean(e.src, index) or "states so far: " + ", ".join(index))
            edges.append((e.op, index[e.src]))
        flat_nodes.append((node, edges))
        if node.node in index:
            raise UserError(f"state `{node.node}` is defined twice in cell `{cell.name}`", node.span)
        index[node.node] = len(index)
    if output_stmt is None:
        output = [index[n.node] for n in nodes]
    else:
        output = []
        for n in output_stmt.names:
            if n not in index:
                raise UserError(f"cell `{cell.name}` outputs `{n}`, which it does not define", output_stmt.span,
                                did_you_mean(n, index))
            output.append(index[n])
    return _Flat(cell.name, inputs, flat_nodes, output, output_stmt)
