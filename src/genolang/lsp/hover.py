"""Hover: what the name under the cursor means, from the compiler's own front end.

* an op: its definition, its parameters, and its body expanded to primitives (stride 1 and 2);
* a primitive: its parameters with their defaults;
* a space: its members, each spelled out in primitives;
* a cell: its graph, and its shapes in each network of the file that uses it;
* a network (or a genotype on its network): the static summary of the cost model --
  parameters, multiply-adds, output shape and the per-cell table -- without building it;
* an experiment setting: its type, default, bounds and meaning (:mod:`.settings`).
"""

from __future__ import annotations

import genolang.compiler.lower.ir as ir
from genolang.compiler.passes.cost import network_cost
from genolang.compiler.lower.dump import dump_cell, dump_genotype, dump_space, dump_template, impl_text
from genolang.compiler.lower.edges import apply_phase
from genolang.compiler.lower.program import Program, lower_lazily
from genolang.compiler.lower.lower_ops import OpLowering
from genolang.compiler.lower.primitives import PRIMITIVES, REQUIRED
from genolang.compiler.passes.shapes import format_plan, plan_network
from genolang.base.errors import GenolangError
from genolang.grammar import parse, print_stmt, syntax as S

from .check import Analysis
from .documents import FRONT_END
from .lookup import context_at, find_definition, names_a_definition, word_at
from .settings import field_help

__all__ = ["hover_text"]


def hover_text(analysis: Analysis, text: str, line: int, column: int) -> str | None:
    """Markdown for the name at 0-based ``line``/code-point ``column`` of ``text``, or None."""
    lines = text.split("\n")
    if line >= len(lines):
        return None
    found = word_at(lines[line], column)
    if found is None:
        return None
    word, start, end = found
    context = context_at(text, line, start)
    if context.top == "experiment" and lines[line][end:].lstrip()[:1] in ("=", "{"):
        return field_help(context.setting_path() + (word,))
    definition = find_definition(analysis.table, word) if names_a_definition(lines[line], start) else None
    if definition is None:
        if word in PRIMITIVES:
            return _primitive(word)
        return _label(analysis, word)
    program = lower_lazily(analysis.table)
    if definition.kind == "op" and lines[line][end:end + 1] == "(":
        called = _call_site(program, lines[line], start)
        if called is not None:
            return called
    try:
        body = {"op": _op, "space": _space, "cell": _cell, "network": _network, "genotype": _genotype}.get(
            definition.kind, _plain)(program, definition.stmt)
    except GenolangError as exc:
        body = f"{_code(print_stmt(definition.stmt, 0)[0])}\n\n(cannot summarise it: {exc.message})"
    if definition.file != analysis.path:
        body += f"\n\n_from {definition.file}_"
    return body


def _call_site(program: Program, line: str, start: int) -> str | None:
    """An op called with arguments (``sep_conv(k=5)``): that call expanded to primitives."""
    depth = 0
    for index in range(start, len(line)):
        depth += {"(": 1, ")": -1}.get(line[index], 0)
        if depth == 0 and line[index] == ")":
            break
    else:
        return None
    text = line[start:index + 1]
    if not FRONT_END.acquire(timeout=0.5):      # a check holds the parser: answer without the call
        return None
    try:
        call = parse(f"op hover_ = {text}", "<hover>").items[0].body
        impl = OpLowering(program.ops).instantiate(call)
    except GenolangError:
        return None
    finally:
        FRONT_END.release()
    return f"**op call** `{text}` expands to:\n\n" + _code(impl_text(impl).replace("  | ", "\n| "))


def _label(analysis: Analysis, word: str) -> str | None:
    """A space entry named ``word`` (a genotype's edges name them: ``sep_conv_3(c0)``)."""
    if analysis.table is None:
        return None
    program = lower_lazily(analysis.table)
    names = sorted(analysis.table.defs["space"], key=lambda n: n not in program.local("space"))
    for name in names:
        try:
            space = program.spaces[name]
        except GenolangError:
            continue
        for label, impl in space.ops:
            if label == word:
                return f"**{label}** in space `{name}`:\n\n" + _code(impl_text(impl).replace("  | ", "\n| "))
    return None


def _code(text: str) -> str:
    return f"```geno\n{text}\n```"


def _primitive(name: str) -> str:
    definition = PRIMITIVES[name]
    params = ", ".join(k if v is REQUIRED else f"{k}={_value(v)}" for k, v in definition.params)
    return f"**primitive** `{name}({params})`" + (f"\n\n{definition.doc}" if definition.doc else "")


def _value(value) -> str:
    return value.name if isinstance(value, ir.Sym) else str(value)


def _op(program: Program, op: S.OpDef) -> str:
    params = ", ".join(p.name if p.default is None else f"{p.name}={_literal(p.default)}" for p in op.params or ())
    head = f"**op** `{op.name}" + (f"({params})" if op.params is not None else "") + "`"
    lines = [head, _code("\n".join(print_stmt(op, 0)))]
    if all(p.default is not None for p in op.params or ()):
        impl = OpLowering(program.ops).instantiate(S.Call(op.name))
        lines.append("expands to (with its defaults):\n\n" + _code(impl_text(impl).replace("  | ", "\n| ")))
    else:
        required = ", ".join(p.name for p in op.params or () if p.default is None)
        lines.append(f"required parameters: {required}")
    return "\n\n".join(lines)


def _literal(value: S.Value) -> str:
    from genolang.grammar import print_value

    return print_value(value)


def _space(program: Program, space: S.SpaceDef) -> str:
    return _code("\n".join(dump_space(program.spaces[space.name])))


def _cell(program: Program, cell: S.CellDef) -> str:
    lines = [_code("\n".join(dump_cell(program.cells[cell.name])))]
    for name in program.local("network"):
        try:
            plan = plan_network(program.templates[name], program.cells)
        except (GenolangError, KeyError):
            continue
        rows = [r for r in plan.cells if r.type == cell.name]
        if rows:
            table = "\n".join(f"cells.{r.index}: C {r.c_cur}, out {r.c_out}x{r.hw_out[0]}x{r.hw_out[1]}"
                              + (" (reduction)" if r.reduction else "") for r in rows)
            lines.append(f"in network `{name}`:\n\n{_code(table)}")
    return "\n\n".join(lines)


def _summary(plan, search: bool) -> str:
    cost = network_cost(plan, search=search)
    last = plan.cells[-1]
    template = plan.template
    out = [f"parameters {cost.params / 1e6:.3f} M ({cost.params:,})",
           f"with side heads {(cost.params + cost.side_params) / 1e6:.3f} M"]
    if cost.arch_params:
        out.append(f"architecture (alpha) {cost.arch_params:,}")
    out += [f"multiply-adds / image {cost.mult_adds / 1e6:.1f} M",
            f"input {'x'.join(map(str, template.input_shape))} -> features "
            f"{plan.classifier_in}x{last.hw_out[0]}x{last.hw_out[1]} -> {template.classes} classes"]
    if not cost.exact:
        out.append("(a primitive without a cost rule is counted as free)")
    return "\n".join(f"- {line}" for line in out) + "\n\n" + _code(format_plan(plan))


def _network(program: Program, network: S.NetworkDef) -> str:
    template = program.templates[network.name]
    head = _code("\n".join(dump_template(template)[:2]))
    try:
        plan = plan_network(template, program.cells)
    except KeyError as exc:
        return f"{head}\n\n(no summary: cell {exc} is not defined here)"
    return f"{head}\n\n**static summary** (search cells)\n\n{_summary(plan, search=True)}"


def _genotype(program: Program, genotype: S.GenotypeDef) -> str:
    found = program.genotypes[genotype.name]
    text = _code("\n".join(dump_genotype(found)))
    name = found.template or next(iter(program.local("network")), None)
    if name is None or name not in program.templates or found.macro is not None:
        return text
    cells = {key: apply_phase(cell, "retrain") for key, cell in found.cells}
    plan = plan_network(program.templates[name], cells)
    return f"{text}\n\n**static summary** on `{name}` (retraining)\n\n{_summary(plan, search=False)}"


def _plain(program: Program, stmt: S.Stmt) -> str:
    return _code("\n".join(print_stmt(stmt, 0)))
