"""Cell definitions -> :class:`ir.CellSpec`: `like` inheritance, nodes, candidate spaces,
selection, zero configuration, reduction strides, outputs."""

from __future__ import annotations

from genolang.base.errors import SpecSemanticError, did_you_mean
from genolang.base.limits import MAX_NODES, MAX_REFERENCE_DEPTH
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.bounds import check_once, check_top_k
from genolang.compiler.lower.definitions import check_inputs, header_span
from genolang.compiler.lower.lowering import Lowering, cycle_error

__all__ = ["SELECT_RULES", "CellLowering", "zero_config", "space_name"]

SELECT_RULES = ("darts", "idarts", "xdarts")


class CellLowering:
    """Lowers one cell at a time through ``lowering`` (its spaces and definitions)."""

    def __init__(self, lowering: Lowering):
        self.lowering = lowering
        self.defs = lowering.defs

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
                zero = zero_config(stmt.config, stmt.span)
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
            ops = self.lowering.space_expr(stmt.space)
            if not ops:
                raise SpecSemanticError(f"cell `{name}`: the space for `{node}` is empty", stmt.span)
            candidates.append((node, ir.OpSpace(space_name(stmt.space), ops, span=stmt.span)))
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


def zero_config(config: str, span) -> str:
    if config not in ir.ZERO_CONFIGS:
        raise SpecSemanticError(f"unknown zero configuration `{config}`", span,
                                hint=did_you_mean(config, ir.ZERO_CONFIGS) or "use one of V0, V1, V2, V3, V4")
    return config


def space_name(expr: S.SpaceExpr) -> str:
    if isinstance(expr, S.SpaceRef):
        return expr.name
    return "<anonymous>"
