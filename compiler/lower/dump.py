"""A readable text dump of the IR (``geno show --ir``); golden tests compare it."""

from __future__ import annotations

from genolang.compiler.lower import ir


def expr_text(expr: ir.OpExpr | None) -> str:
    if expr is None:
        return "identity"
    if isinstance(expr, ir.Prim):
        if not expr.args:
            return expr.name
        return f"{expr.name}(" + ", ".join(f"{k}={value_text(v)}" for k, v in expr.args) + ")"
    if isinstance(expr, ir.Seq):
        return " >> ".join(expr_text(p) for p in expr.parts)
    if isinstance(expr, ir.Residual):
        return f"residual({expr_text(expr.body)})"
    name = "sum" if isinstance(expr, ir.Sum) else "concat"
    return f"{name}(" + ", ".join(expr_text(p) for p in expr.parts) + ")"


def value_text(value) -> str:
    if isinstance(value, ir.Sym):
        return value.name
    if isinstance(value, ir.BinOp):
        return f"({value_text(value.left)} {value.op} {value_text(value.right)})"
    if isinstance(value, tuple):
        return "(" + ", ".join(value_text(v) for v in value) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def impl_text(impl: ir.OpImpl) -> str:
    text = expr_text(impl.body)
    if impl.stride2 is not None:
        text += f"  | stride 2: {expr_text(impl.stride2)}"
    elif not impl.supports_stride(2):
        text += "  | stride 1 only"
    return text


def dump_space(space: ir.OpSpace) -> list[str]:
    lines = [f"space {space.name}  ({len(space)} ops)"]
    lines += [f"  {label}: {impl_text(impl)}" for label, impl in space.ops]
    return lines


def dump_cell(cell: ir.CellSpec) -> list[str]:
    select = cell.select.rule + ("" if cell.select.rule == "xdarts" else f" top {cell.select.k}")
    flags = f"select {select}, zero {cell.zero}" + (", reduction" if cell.reduction else "")
    lines = [f"cell {cell.name}  ({flags})"]
    graph = cell.graph()
    for node in cell.nodes:
        space = cell.space_of(node)
        preds = ", ".join(cell.predecessors(node))
        lines.append(f"  {graph.node_id(node)} <- {{{preds}}} x {space.name} ({len(space)} ops)")
    lines.append(f"  output concat({', '.join(cell.output)})")
    return lines


def dump_template(t: ir.NetworkTemplate) -> list[str]:
    c, h, w = t.input_shape
    lines = [f"network {t.name}  (input {c}x{h}x{w}, {t.classes} classes, C={t.channels})",
             f"  stem: {expr_text(t.stem)}"]
    for i, slot in enumerate(t.slots):
        what = slot.cell if slot.cell is not None else "replaced by " + expr_text(slot.replacement)
        marks = []
        if slot.reduction:
            marks.append("reduction")
        if i in t.distill_after:
            marks.append("distill head")
        if t.aux_after == i:
            marks.append("aux head")
        lines.append(f"  cells.{i}: {what}" + (f"  [{', '.join(marks)}]" if marks else ""))
    if t.tail is not None:
        lines.append(f"  tail: {expr_text(t.tail)}")
    return lines


def dump_genotype(g: ir.Genotype) -> list[str]:
    head = f"genotype {g.name}" + (f"  (space {g.space})" if g.space else "")
    lines = [head]
    for key, cell in g.cells:
        flags = ", ".join(f for f in ("reduction" if cell.reduction else "", f"zero {cell.zero}") if f)
        lines.append(f"  cell {key}  ({flags})")
        for node, edges in cell.nodes:
            rhs = " + ".join(f"{e.op}({e.src})" for e in edges) or "0"
            lines.append(f"    {key}.{node} = {rhs}")
        lines.append(f"    output concat({', '.join(cell.output)})")
    if g.macro is not None:
        lines.append(f"  macro version {g.macro.version} skips={list(g.macro.skips)} types={list(g.macro.types)}")
    return lines


def dump_program(program, only_local: bool = True) -> str:
    lines: list[str] = []
    pick = (lambda kind, names: [n for n in names if n in program.local(kind)]) if only_local else (lambda k, n: list(n))
    for name in pick("space", program.spaces):
        lines += dump_space(program.spaces[name]) + [""]
    for name in pick("cell", program.cells):
        lines += dump_cell(program.cells[name]) + [""]
    for name in pick("network", program.templates):
        lines += dump_template(program.templates[name]) + [""]
    for name in pick("macro", program.macros):
        m = program.macros[name]
        lines += [f"macro {m.name}  (version {m.version}, template {m.template}, types {', '.join(m.cell_types) or '-'}, depth {m.depth})", ""]
    for name in pick("experiment", program.experiments):
        e = program.experiments[name]
        lines += [f"experiment {e.name}", "  " + e.config.model_dump_json(), ""]
    for name in pick("genotype", program.genotypes):
        lines += dump_genotype(program.genotypes[name]) + [""]
    return "\n".join(lines).rstrip() + "\n"
