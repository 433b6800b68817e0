"""AST -> IR: name resolution, `like` inheritance, space algebra, templates, genotypes.

``lower(table)`` turns the definitions visible from a spec file into a :class:`Program` of IR
objects. Errors are collected (several are reported at once) and raised together as an
:class:`ErrorGroup` at the end; each names its place in the file and carries a hint.
"""

from __future__ import annotations

from pathlib import Path

from genolang.base.errors import ErrorGroup, GenolangError, SpecSemanticError, did_you_mean
from genolang.grammar import syntax as S
from genolang.base.limits import (
    MAX_CELLS, MAX_CHANNELS, MAX_CLASSES, MAX_INPUT_CHANNELS, MAX_MACRO_DEPTH, MAX_NODES, MAX_REFERENCE_DEPTH,
    MAX_RESOLUTION,
)

from genolang.compiler.lower import ir
from genolang.compiler.lower.bounds import check_once, check_positions, check_top_k
from genolang.compiler.lower.definitions import Definitions, Experiment, Program, check_inputs, header_span
from genolang.compiler.lower.experiment_lowering import lower_experiment
from genolang.compiler.lower.genotype_lowering import lower_genotype
from genolang.compiler.lower.load import SymbolTable, load_path, load_text
from genolang.compiler.lower.lower_ops import SPECIAL_OPS, OpLowering, lower_errors

SELECT_RULES = ("darts", "idarts", "xdarts")
DEFAULT_STEM = ir.Seq((ir.Prim("conv", (("k", 3), ("out", ir.BinOp("*", 3, ir.Sym("C"))))), ir.Prim("bn")))


def load(path: str | Path) -> Program:
    """Parse, resolve, lower and verify a spec file."""
    return lower(load_path(path))


def loads(text: str, file: str = "<string>") -> Program:
    return lower(load_text(text, file))


def lower(table: SymbolTable) -> Program:
    return _Lowerer(table).run()


def lower_lazily(table: SymbolTable) -> Program:
    """A :class:`Program` whose definitions are lowered when first looked up, and nothing
    checked up front: an editor asks about one definition of a file that may have errors
    elsewhere (a lookup still raises the errors of the definition it lowers)."""
    return _Lowerer(table).program


class _Lowerer:
    def __init__(self, table: SymbolTable):
        self.table = table
        self.defs = table.defs
        self.errors: list[GenolangError] = list(table.errors)
        self.ops = OpLowering(self.defs["op"])
        self.program = Program(
            table.main, table,
            spaces=Definitions(self.defs["space"], self.space),
            cells=Definitions(self.defs["cell"], self.cell),
            templates=Definitions(self.defs["network"], self.network),
            macros=Definitions(self.defs["macro"], self.macro),
            experiments=Definitions(self.defs["experiment"], self.experiment),
            genotypes=Definitions(self.defs["genotype"], self.genotype),
        )
        self._space_stack: list[str] = []

    def run(self) -> Program:
        """Lower and verify everything the main file defines (imports: on first use)."""
        ops = self.defs["op"]
        for name in self.table.local("op"):
            lower_errors(lambda op=ops[name]: self.ops.check_definition(op), self.errors)
        for kind, method in (("space", self.space), ("cell", self.cell), ("network", self.network),
                             ("macro", self.macro), ("genotype", self.genotype),
                             ("experiment", self.experiment)):
            for name in self.table.local(kind):
                lower_errors(lambda m=method, n=name: m(n), self.errors)
        if self.errors:
            unique = _unique(self.errors)
            raise unique[0] if len(unique) == 1 else ErrorGroup(unique)
        return self.program

    # ------------------------------------------------------------------ spaces
    def space(self, name: str, span=None) -> ir.OpSpace:
        if self.program.spaces.lowered(name) is not None:
            return self.program.spaces.lowered(name)
        definition = self.defs["space"].get(name)
        if definition is None:
            raise SpecSemanticError(f"unknown space `{name}`", span,
                                    hint=did_you_mean(name, self.defs["space"]) or "define it with `space NAME { ... }`")
        if name in self._space_stack:
            members = self._space_stack[self._space_stack.index(name):]
            path = " -> ".join(members + [name])
            raise cycle_error("space", members, f"space `{name}` is defined in terms of itself: {path}",
                              header_span(definition.span), hint="a space cannot include itself, directly or "
                              "through other spaces")
        if len(self._space_stack) >= MAX_REFERENCE_DEPTH:
            raise SpecSemanticError(f"space `{name}` is built from spaces more than {MAX_REFERENCE_DEPTH} "
                                    "levels deep", header_span(definition.span), hint="see docs/limits.md")
        self._space_stack.append(name)
        try:
            ops = self.space_expr(definition.expr)
        finally:
            self._space_stack.pop()
        space = ir.OpSpace(name, ops, span=definition.span)
        self.program.spaces.store(name, space)
        return space

    def space_expr(self, expr: S.SpaceExpr) -> tuple[tuple[str, ir.OpImpl], ...]:
        if isinstance(expr, S.SpaceRef):
            return self.space(expr.name, expr.span).ops
        if isinstance(expr, S.SpaceLit):
            out: dict[str, ir.OpImpl] = {}
            for entry in expr.entries:
                if entry.label in out:
                    raise SpecSemanticError(f"label `{entry.label}` appears twice in this space", entry.span,
                                            hint="each label names one operation")
                call = entry.op if entry.op is not None else S.Call(entry.label, span=entry.span)
                out[entry.label] = self.ops.instantiate(call, entry.label)
            return tuple(out.items())
        left = dict(self.space_expr(expr.left))
        if expr.op == "|":
            for label, impl in self.space_expr(expr.right):
                if label in left and left[label] != impl:
                    raise SpecSemanticError(f"label `{label}` means different operations on the two sides of `|`",
                                            expr.span, hint="rename one of them")
                left.setdefault(label, impl)
            return tuple(left.items())
        removed = self._labels_of(expr.right)
        for label, span in removed:
            if label not in left:
                raise SpecSemanticError(f"cannot remove `{label}`: it is not in the space", span,
                                        hint=did_you_mean(label, left) or "labels: " + ", ".join(left))
        names = {label for label, _ in removed}
        return tuple((k, v) for k, v in left.items() if k not in names)

    def _labels_of(self, expr: S.SpaceExpr):
        if isinstance(expr, S.SpaceLit):
            return [(e.label, e.span) for e in expr.entries]
        return [(label, expr.span) for label, _ in self.space_expr(expr)]

    # ------------------------------------------------------------------ cells
    def _cell_body(self, name: str) -> list[S.Stmt]:
        """The statements of a cell with those of the cells it is `like` first (no recursion:
        a chain of `like` is walked in a loop, and bounded)."""
        chain: list[str] = [name]
        definition = self.defs["cell"][name]
        while definition.like is not None:
            if definition.like not in self.defs["cell"]:
                raise SpecSemanticError(f"unknown cell `{definition.like}`", header_span(definition.span),
                                        hint=did_you_mean(definition.like, self.defs["cell"]) or "define the base cell first")
            if definition.like in chain:
                members = tuple(chain[chain.index(definition.like):])
                path = " -> ".join(members + (definition.like,))
                raise cycle_error("cell", members, f"cells inherit from each other in a cycle: {path}",
                                  header_span(definition.span), hint="remove one `like`")
            if len(chain) > MAX_REFERENCE_DEPTH:
                top = self.defs["cell"][name]
                raise SpecSemanticError(f"cell `{name}` inherits through more than {MAX_REFERENCE_DEPTH} "
                                        "`like` steps", header_span(top.span),
                                        hint="inherit from a cell nearer the base (see docs/limits.md)")
            chain.append(definition.like)
            definition = self.defs["cell"][definition.like]
        body: list[S.Stmt] = []
        for member in reversed(chain):
            body.extend(self.defs["cell"][member].body)
        return body

    def cell(self, name: str) -> ir.CellSpec:
        if self.program.cells.lowered(name) is not None:
            return self.program.cells.lowered(name)
        definition = self.defs["cell"][name]
        check_once(definition.body, f"cell `{name}`")
        body = self._cell_body(name)
        inputs, count, select, zero, reduction, output = ("c0", "c1"), None, ir.Selection(), "V1", False, None
        all_edges, node_edges, output_stmt, inputs_stmt, nodes_stmt, select_stmt = None, {}, None, None, None, None
        for stmt in body:
            if isinstance(stmt, S.Inputs):
                inputs, inputs_stmt = stmt.names, stmt
            elif isinstance(stmt, S.Nodes):
                count, nodes_stmt = stmt.count, stmt
            elif isinstance(stmt, S.Edges):
                if stmt.node is None:
                    all_edges = stmt
                else:
                    node_edges[stmt.node] = stmt
            elif isinstance(stmt, S.Select):
                select, select_stmt = self._selection(stmt), stmt
            elif isinstance(stmt, S.Zero):
                zero = _zero_config(stmt.config, stmt.span)
            elif isinstance(stmt, S.Reduction):
                reduction = True
            elif isinstance(stmt, S.Output):
                output, output_stmt = stmt.names, stmt
        if count is None or count < 1:
            raise SpecSemanticError(f"cell `{name}` needs `nodes N` (N >= 1)", definition.span,
                                    hint="add e.g. `nodes 4`")
        if count > MAX_NODES:
            raise SpecSemanticError(f"cell `{name}` has {count:,} nodes; the limit is {MAX_NODES}", nodes_stmt.span,
                                    hint="see docs/limits.md")
        check_inputs(name, inputs, inputs_stmt.span if inputs_stmt else definition.span)
        nodes = tuple(f"n{i}" for i in range(count))
        candidates = []
        for node in nodes:
            stmt = node_edges.get(node, all_edges)
            if stmt is None:
                raise SpecSemanticError(f"cell `{name}`: node `{node}` has no candidate operations",
                                        definition.span, hint="add `edges from SPACE`")
            ops = self.space_expr(stmt.space)
            if not ops:
                raise SpecSemanticError(f"cell `{name}`: the space for `{node}` is empty", stmt.span)
            candidates.append((node, ir.OpSpace(_space_name(stmt.space), ops, span=stmt.span)))
        check_top_k(name, select, select_stmt, len(inputs), candidates)
        for node, stmt in node_edges.items():
            if node not in nodes:
                raise SpecSemanticError(f"cell `{name}` has no node `{node}`", stmt.span,
                                        hint=did_you_mean(node, nodes) or f"nodes are {', '.join(nodes)}")
        output = output or nodes
        for state in output:
            if state not in nodes and state not in inputs:
                raise SpecSemanticError(f"cell `{name}` outputs `{state}`, which is not one of its states",
                                        output_stmt.span, hint=did_you_mean(state, nodes + inputs))
        if reduction:
            self._check_stride2(name, candidates, node_edges, all_edges)
        spec = ir.CellSpec(name, tuple(inputs), nodes, tuple(candidates), select, zero, reduction,
                           tuple(output), span=definition.span)
        self.program.cells.store(name, spec)
        return spec

    def _selection(self, stmt: S.Select) -> ir.Selection:
        if stmt.rule not in SELECT_RULES:
            raise SpecSemanticError(f"unknown selection rule `{stmt.rule}`", stmt.span,
                                    hint=did_you_mean(stmt.rule, SELECT_RULES) or "use darts, idarts or xdarts")
        if stmt.rule == "xdarts" and stmt.k is not None:
            raise SpecSemanticError("`xdarts` keeps j+2 edges for node j; it takes no `top k`", stmt.span,
                                    hint="write `select xdarts`")
        k = 2 if stmt.k is None else stmt.k
        if k < 1:
            raise SpecSemanticError("`top k` needs k >= 1", stmt.span)
        return ir.Selection(stmt.rule, k)

    def _check_stride2(self, name, candidates, node_edges, all_edges) -> None:
        for node, space in candidates:
            for label, impl in space.ops:
                if not impl.supports_stride(2):
                    stmt = node_edges.get(node, all_edges)
                    raise SpecSemanticError(
                        f"operation `{label}` cannot take stride 2, but reduction cell `{name}` applies it "
                        f"to its inputs", stmt.span,
                        hint=f"give `{impl.name}` a stride-2 form (`on stride 2 = subsample >> ...`) "
                             f"or use `s` as a stride in its body",
                        notes=self._op_note(impl))

    def _op_note(self, impl: ir.OpImpl):
        """A note pointing at the definition of the op behind ``impl`` (else at its use)."""
        definition = self.defs["op"].get(impl.name)
        span = definition.span if definition is not None else impl.span
        return [(f"`{impl.name}` is defined here", header_span(span))] if span is not None and span.known else []

    # ------------------------------------------------------------------ networks
    def network(self, name: str) -> ir.NetworkTemplate:
        definition = self.defs["network"][name]
        check_once(definition.body, f"network `{name}`")
        shape = classes = channels = None
        stem, tail, cells_stmt, replaces, heads, aux = DEFAULT_STEM, None, None, {}, (), None
        for stmt in definition.body:
            if isinstance(stmt, S.InputShape):
                shape = stmt.shape
            elif isinstance(stmt, S.Classes):
                classes = stmt.count
            elif isinstance(stmt, S.Channels):
                channels = stmt.count
            elif isinstance(stmt, S.Stem):
                stem = self._stem(stmt.expr)
            elif isinstance(stmt, S.Tail):
                tail = self.ops.instantiate(stmt.expr).expr_for(1)
            elif isinstance(stmt, S.Cells):
                cells_stmt = stmt
            elif isinstance(stmt, S.Replace):
                replaces[stmt.index] = stmt
            elif isinstance(stmt, S.Heads):
                heads = stmt
            elif isinstance(stmt, S.Aux):
                aux = stmt
        for what, value in (("input", shape), ("classes", classes), ("channels", channels), ("cells", cells_stmt)):
            if value is None:
                example = {"input": "input 3x32x32", "classes": "classes 10", "channels": "channels 16",
                           "cells": "cells 8 reduce at 2, 5"}[what]
                raise SpecSemanticError(f"network `{name}` needs `{what}`", definition.span, hint=f"add `{example}`")
        _check_network_sizes(definition.body)
        count = cells_stmt.count
        check_positions(cells_stmt.reduce_at, "`reduce at`", cells_stmt.span)
        if isinstance(heads, S.Heads):
            check_positions(heads.after, "`heads distill after`", heads.span)
        for index in cells_stmt.reduce_at:
            if not 0 <= index < count:
                raise SpecSemanticError(f"reduction position {index} is outside the {count} cells (0..{count - 1})",
                                        cells_stmt.span, hint="positions are 0-based")
        slots = []
        cycle = cells_stmt.cycle
        for i in range(count):
            reduction = i in cells_stmt.reduce_at
            cell = cycle[i % len(cycle)] if cycle else ("reduce" if reduction else "normal")
            replacement = None
            if i in replaces:
                impl = self.ops.instantiate(replaces[i].expr, "replacement")
                # A replacement is a fixed operation: at a reduction slot it takes stride 2 through
                # `s` or an `on stride 2` form, or else it states its own strides (`stride=2`).
                replacement = impl.expr_for(2) if reduction and impl.supports_stride(2) else impl.body
            slots.append(ir.Slot(None if replacement is not None else cell, replacement, reduction))
        for index, stmt in replaces.items():
            if not 0 <= index < count:
                raise SpecSemanticError(f"cannot replace cell {index}: there are {count} cells (0..{count - 1})",
                                        stmt.span)
        distill = heads.after if isinstance(heads, S.Heads) else ()
        for index in distill:
            if not 0 <= index < count:
                raise SpecSemanticError(f"distill head after cell {index}, but there are {count} cells", heads.span)
        aux_after = None
        if aux is not None:
            if not 0 <= aux.after < count:
                raise SpecSemanticError(f"auxiliary head after cell {aux.after}, but there are {count} cells", aux.span)
            aux_after = aux.after
        template = ir.NetworkTemplate(name, tuple(shape), classes, channels, stem, tuple(slots),
                                      tuple(distill), aux_after, tail=tail, span=definition.span)
        self.program.templates.store(name, template)
        return template

    def _stem(self, expr: S.Expr) -> ir.OpExpr | None:
        if isinstance(expr, S.Call) and expr.name == "identity" and not expr.has_parens:
            return None
        return self.ops.instantiate(expr).expr_for(1)

    # ------------------------------------------------------------------ macros
    def macro(self, name: str) -> ir.MacroSpec:
        definition = self.defs["macro"][name]
        check_once(definition.body, f"macro `{name}`")
        template, types, depth = None, (), 20
        for stmt in definition.body:
            if isinstance(stmt, S.MacroTemplate):
                if stmt.name not in self.defs["network"]:
                    raise SpecSemanticError(f"unknown network `{stmt.name}`", stmt.span,
                                            hint=did_you_mean(stmt.name, self.defs["network"]))
                template = stmt.name
            elif isinstance(stmt, S.MacroTypes):
                for t in stmt.names:
                    if t not in self.defs["cell"]:
                        raise SpecSemanticError(f"unknown cell type `{t}`", stmt.span,
                                                hint=did_you_mean(t, self.defs["cell"]))
                types = stmt.names
            elif isinstance(stmt, S.MacroDepth):
                depth = stmt.depth
                if not 1 <= depth <= MAX_MACRO_DEPTH:
                    raise SpecSemanticError(f"macro depth {depth:,} is outside 1..{MAX_MACRO_DEPTH}", stmt.span,
                                            hint="see docs/limits.md")
        if definition.version not in (1, 2):
            raise SpecSemanticError(f"macro version {definition.version} does not exist", definition.span,
                                    hint="version 1 searches skip inputs; version 2 searches cell types per depth")
        if template is None:
            raise SpecSemanticError(f"macro `{name}` needs `template NETWORK`", definition.span)
        if definition.version == 2 and len(types) < 2:
            raise SpecSemanticError("a version 2 macro needs at least two cell `types`", definition.span,
                                    hint="add e.g. `types a, b, c, d`")
        spec = ir.MacroSpec(name, definition.version, template, tuple(types), depth, span=definition.span)
        self.program.macros.store(name, spec)
        return spec

    # ------------------------------------------------------------------ experiments
    def experiment(self, name: str) -> Experiment:
        definition = self.defs["experiment"][name]
        experiment = lower_experiment(definition, self)
        self.program.experiments.store(name, experiment)
        return experiment

    # ------------------------------------------------------------------ genotypes
    def genotype(self, name: str) -> ir.Genotype:
        genotype = lower_genotype(self.defs["genotype"][name], self)
        self.program.genotypes.store(name, genotype)
        return genotype


# (statement type, attribute, what it is, smallest, largest)
_NETWORK_SIZES = (
    (S.Cells, "count", "cells", 1, MAX_CELLS),
    (S.Channels, "count", "channels", 1, MAX_CHANNELS),
    (S.Classes, "count", "classes", 1, MAX_CLASSES),
)


def _check_network_sizes(body) -> None:
    """Every size of a network within its documented limit, before any is used."""
    for stmt in body:
        for kind, attribute, what, low, high in _NETWORK_SIZES:
            if isinstance(stmt, kind):
                value = getattr(stmt, attribute)
                if not low <= value <= high:
                    raise SpecSemanticError(f"{value:,} {what} is outside the limits {low}..{high:,}", stmt.span,
                                            hint="see docs/limits.md")
        if isinstance(stmt, S.InputShape):
            channels, height, width = stmt.shape
            if not 1 <= channels <= MAX_INPUT_CHANNELS:
                raise SpecSemanticError(f"an input of {channels:,} channels is outside the limits "
                                        f"1..{MAX_INPUT_CHANNELS:,}", stmt.span, hint="see docs/limits.md")
            if not (1 <= height <= MAX_RESOLUTION and 1 <= width <= MAX_RESOLUTION):
                raise SpecSemanticError(f"an input of {height:,}x{width:,} pixels is outside the limits "
                                        f"1..{MAX_RESOLUTION} per side", stmt.span, hint="see docs/limits.md")


def _zero_config(config: str, span) -> str:
    if config not in ir.ZERO_CONFIGS:
        raise SpecSemanticError(f"unknown zero configuration `{config}`", span,
                                hint=did_you_mean(config, ir.ZERO_CONFIGS) or "use one of V0, V1, V2, V3, V4")
    return config


def _space_name(expr: S.SpaceExpr) -> str:
    if isinstance(expr, S.SpaceRef):
        return expr.name
    return "<anonymous>"


def _unique(errors: list[GenolangError]) -> list[GenolangError]:
    """Drop repeated errors, and report a definition cycle once (not once per member)."""
    seen, cycles, out = set(), set(), []
    for e in errors:
        key = (e.message, e.span)
        cycle = getattr(e, "cycle", None)
        if key in seen or (cycle is not None and cycle in cycles):
            continue
        seen.add(key)
        if cycle is not None:
            cycles.add(cycle)
        out.append(e)
    return out


def cycle_error(kind: str, members, message: str, span, **kw) -> SpecSemanticError:
    """An error about a definition cycle; the same cycle found from another member is dropped."""
    error = SpecSemanticError(message, span, **kw)
    error.cycle = (kind, frozenset(members))
    return error


__all__ = ["Program", "Experiment", "load", "loads", "lower", "SPECIAL_OPS"]
