"""Genotype definitions -> :class:`ir.Genotype`, checked against the space they name."""

from __future__ import annotations

from genolang.base.errors import SpecSemanticError, did_you_mean
from genolang.grammar import syntax as S
from genolang.base.limits import MAX_NODES

from genolang.compiler.lower import ir
from genolang.compiler.lower.definitions import check_inputs
from genolang.compiler.lower.lower_ops import SPECIAL_OPS
from genolang.compiler.lower.lowering import Lowering, known_network


def lower_genotype(definition: S.GenotypeDef, lowering: Lowering) -> ir.Genotype:
    space = template = macro = None
    provenance: list[tuple[str, str]] = []
    cells: list[tuple[str, ir.GenoCell]] = []
    cell_defs = [s for s in definition.body if isinstance(s, S.GenoCellDef)]
    for stmt in definition.body:
        if isinstance(stmt, S.GenoSpace):
            space = lowering.space(stmt.name, stmt.span)
        elif isinstance(stmt, S.GenoTemplate):
            template = known_network(lowering, stmt.name, stmt.span)
        elif isinstance(stmt, S.Provenance):
            provenance.extend((e.key, _text(e.value)) for e in stmt.entries if isinstance(e, S.Setting))
        elif isinstance(stmt, S.GenoMacro):
            macro = _macro_choice(stmt)
    seen: dict[str, S.GenoCellDef] = {}
    for cell_def in cell_defs:
        if cell_def.name in seen:
            raise SpecSemanticError(f"genotype `{definition.name}` defines cell `{cell_def.name}` twice",
                                    cell_def.span, notes=[("first defined here", seen[cell_def.name].span)])
        seen[cell_def.name] = cell_def
        cells.append((cell_def.name, _cell(cell_def, space, lowering, definition.name)))
    if not cells:
        raise SpecSemanticError(f"genotype `{definition.name}` has no cells", definition.span,
                                hint="add e.g. `cell normal { n0 = skip(c0) + skip(c1) }`")
    return ir.Genotype(definition.name, tuple(cells), space.name if space else None, template, macro,
                       tuple(provenance), span=definition.span)


def _cell(cell_def: S.GenoCellDef, space: ir.OpSpace | None, lowering: Lowering, genotype: str) -> ir.GenoCell:
    inputs, reduction, zero, output, output_stmt = ("c0", "c1"), False, "V1", None, None
    node_defs: list[S.NodeDef] = []
    for stmt in cell_def.body:
        if isinstance(stmt, S.Inputs):
            inputs = stmt.names
            check_inputs(cell_def.name, inputs, stmt.span)
        elif isinstance(stmt, S.Reduction):
            reduction = True
        elif isinstance(stmt, S.Zero):
            if stmt.config not in ir.ZERO_CONFIGS:
                raise SpecSemanticError(f"unknown zero configuration `{stmt.config}`", stmt.span,
                                        hint=did_you_mean(stmt.config, ir.ZERO_CONFIGS) or "use V0..V4")
            zero = stmt.config
        elif isinstance(stmt, S.NodeDef):
            node_defs.append(stmt)
        elif isinstance(stmt, S.Output):
            output, output_stmt = stmt.names, stmt
    if not node_defs:
        raise SpecSemanticError(f"cell `{cell_def.name}` has no nodes", cell_def.span,
                                hint="add e.g. `n0 = skip(c0) + skip(c1)`")
    if len(node_defs) > MAX_NODES:
        raise SpecSemanticError(f"cell `{cell_def.name}` has {len(node_defs):,} nodes; the limit is {MAX_NODES}",
                                node_defs[MAX_NODES].span, hint="see docs/limits.md")
    defined: list[str] = []
    nodes = []
    ops: dict[str, ir.OpImpl] = {}
    later = {n.node for n in node_defs}
    for node_def in node_defs:
        if node_def.node in inputs or node_def.node in defined:
            raise SpecSemanticError(f"state `{node_def.node}` is defined twice in cell `{cell_def.name}`",
                                    node_def.span)
        edges = []
        # The same (source, op) twice is legal here: in a discrete genotype each copy has its own
        # weights (NASNet's `avg_pool_3(c0) + avg_pool_3(c0)`); selecting it in a search network
        # is the error (compiler/build/supernet.py).
        for edge in node_def.edges:
            if edge.src not in inputs and edge.src not in defined:
                if edge.src == node_def.node or edge.src in later:
                    path = f"{node_def.node} -> {edge.src}" + (f" -> ... -> {node_def.node}" if edge.src != node_def.node else "")
                    raise SpecSemanticError(
                        f"cycle in cell `{cell_def.name}`: `{node_def.node}` reads `{edge.src}`, which is not "
                        f"computed before it ({path})", edge.span,
                        hint="a node may only read the cell inputs and the nodes defined above it")
                raise SpecSemanticError(f"unknown state `{edge.src}` in cell `{cell_def.name}`", edge.span,
                                        hint=did_you_mean(edge.src, list(inputs) + defined)
                                        or f"states so far: {', '.join(list(inputs) + defined)}")
            impl = _op(edge, space, lowering, genotype)
            if reduction and edge.src in inputs and not impl.supports_stride(2):
                raise SpecSemanticError(f"operation `{edge.op}` cannot take stride 2 on reduction cell "
                                        f"`{cell_def.name}`", edge.span,
                                        hint="give it an `on stride 2 = ...` form")
            ops[edge.op] = impl
            edges.append(ir.GenoEdge(edge.op, edge.src))
        defined.append(node_def.node)
        nodes.append((node_def.node, tuple(edges)))
    output = output or tuple(defined)
    for state in output:
        if state not in defined and state not in inputs:
            raise SpecSemanticError(f"cell `{cell_def.name}` outputs `{state}`, which it does not define",
                                    output_stmt.span, hint=did_you_mean(state, defined))
    return ir.GenoCell(cell_def.name, tuple(inputs), tuple(nodes), tuple(output), tuple(sorted(ops.items())),
                       reduction, zero, span=cell_def.span)


def _op(edge: S.EdgeRef, space: ir.OpSpace | None, lowering: Lowering, genotype: str) -> ir.OpImpl:
    if space is not None and edge.op in space.labels:
        return space.impl(edge.op)
    if edge.op in SPECIAL_OPS:
        return SPECIAL_OPS[edge.op]
    if space is not None:
        raise SpecSemanticError(
            f"genotype `{genotype}` does not belong to space `{space.name}`: it has no operation `{edge.op}`",
            edge.span, hint=did_you_mean(edge.op, space.labels) or "labels: " + ", ".join(space.labels))
    if edge.op in lowering.defs["op"]:
        return lowering.ops.instantiate(S.Call(edge.op, span=edge.span))
    known = set(lowering.defs["op"]) | set(SPECIAL_OPS)
    for name in lowering.defs["space"]:
        definition = lowering.defs["space"][name].expr
        known |= {e.label for e in getattr(definition, "entries", ())}
    suggestion = did_you_mean(edge.op, known)
    raise SpecSemanticError(f"unknown operation `{edge.op}` (the genotype names no space)", edge.span,
                            hint=(suggestion + " " if suggestion else "")
                            + "add `space NAME` to the genotype, naming the space its labels come from")


def _text(value: S.Value) -> str:
    if isinstance(value, (S.Str,)):
        return value.value
    if isinstance(value, S.Name):
        return value.id
    if isinstance(value, S.Num):
        return repr(value.value)
    if isinstance(value, S.Bool):
        return "true" if value.value else "false"
    if isinstance(value, (S.ListV, S.TupleV)):
        return "[" + ", ".join(_text(v) for v in value.items) + "]"
    return str(value)


def _macro_choice(stmt: S.GenoMacro) -> ir.MacroChoice:
    values = {e.key: e.value for e in stmt.entries if isinstance(e, S.Setting)}
    version = values.get("version")
    if not isinstance(version, S.Num) or version.value not in (1, 2):
        raise SpecSemanticError("a genotype's macro block needs `version = 1` or `version = 2`", stmt.span)
    skips = values.get("skips")
    types = values.get("types")
    skip_list = tuple(int(v.value) for v in skips.items) if isinstance(skips, S.ListV) else ()
    type_list = tuple(_text(v) for v in types.items) if isinstance(types, S.ListV) else ()
    return ir.MacroChoice(int(version.value), skip_list, type_list)
