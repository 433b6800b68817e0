"""Shape pass: channels, strides and resolution of every cell and edge, before building.

:func:`plan_network` walks a :class:`NetworkTemplate` with its cells (search
:class:`CellSpec` s or discrete :class:`GenoCell` s) exactly as the module builders will, and
returns a :class:`NetworkPlan`: one :class:`CellPlan` row per slot. The builders consume the
plan, so a network that passes this pass builds, and every mismatch is reported here as a
:class:`CompileError` pointing at the spec.

Channel rule (DARTS): the stem gives ``C_stem`` channels, used as both inputs of cell 0;
the cell width ``C_cur`` starts at ``C`` and doubles at each reduction slot; a cell outputs
the concatenation of its ``output`` states; cell ``k`` reads the outputs of cells ``k-2``
and ``k-1``.

Cell lookup: a slot's cell ``t`` in stage ``K`` is looked up as ``stageK.t`` first, then
``t``. Stages are numbered from 1; a reduction cell closes its stage (Cream), so the
stage of slot ``i`` is 1 + the number of reduction slots before ``i``.

A node without edges (a genotype may have one) is a zero tensor of the node's shape.
A slot reduces when the slot or its cell says so.

Inputs: a cell reads two states (the outputs of cells ``k-2`` and ``k-1``, each preprocessed
to ``C_cur`` channels) or one (the output of cell ``k-1``, taken as it is when it already has
``C_cur`` channels -- the NAS-Bench-201 cell -- else through a 1x1 ReLU-conv-BN).

Parallel identical edges: a discrete cell may apply the same operation to the same state
twice (NASNet's ``avg_pool_3(c0) + avg_pool_3(c0)``); each copy has its own weights, under
the module key ``<label>__2``, ``<label>__3``, ... (the first keeps ``<label>``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Union

from genolang.compiler.lower.ir import CellSpec, GenoCell, NetworkTemplate, OpExpr, OpImpl, Slot
from genolang.compiler.lower.edges import candidate_ops, edge_stride
from genolang.compiler.passes.head_geometry import HEAD_MIN_RESOLUTION, head_resolution_ok
from genolang.compiler.lower.primitives import expr_shape
from genolang.base.errors import CompileError, Span, did_you_mean

__all__ = ["AnyCell", "EdgePlan", "CellPlan", "HeadPlan", "NetworkPlan", "plan_network",
           "cell_edges", "stage_of", "lookup_cell", "format_plan"]

AnyCell = Union[CellSpec, GenoCell]
HW = tuple[int, int]


@dataclass(frozen=True)
class EdgePlan:
    node: str
    src: str
    label: str
    impl: OpImpl
    stride: int
    key: str = ""                   # module key under the source: the label, or label__2 for a repeat

    @property
    def module_key(self) -> str:
        return self.key or self.label


@dataclass(frozen=True)
class CellPlan:
    """One slot of the network, with everything a builder needs to know about its shapes."""

    index: int
    key: str                        # key of the cell in the cells mapping, or "replacement"
    cell: AnyCell | None            # None for a replacement slot
    replacement: OpExpr | None
    reduction: bool
    reduction_prev: bool
    c_pp: int
    c_p: int
    c_cur: int
    c_out: int
    hw_pp: HW
    hw_p: HW
    hw_out: HW
    stage: int
    edges: tuple[EdgePlan, ...] = ()

    @property
    def type(self) -> str:
        return self.cell.name if self.cell is not None else "replacement"


@dataclass(frozen=True)
class HeadPlan:
    kind: str                       # "distill" or "aux"
    after: int
    channels: int
    hw: HW


@dataclass(frozen=True)
class NetworkPlan:
    template: NetworkTemplate
    stem_channels: int              # channels of the cell-0 inputs (after stem_concat_input)
    stem_hw: HW
    cells: tuple[CellPlan, ...]
    heads: tuple[HeadPlan, ...]
    tail_channels: int | None = None  # channels after the template's tail, when it has one

    @property
    def classifier_in(self) -> int:
        return self.cells[-1].c_out if self.tail_channels is None else self.tail_channels


def stage_of(slots: tuple[Slot, ...], index: int) -> int:
    return 1 + sum(1 for s in slots[:index] if s.reduction)


def lookup_cell(cells: Mapping[str, AnyCell], name: str, stage: int, span: Span | None) -> tuple[str, AnyCell]:
    """The cell a slot names: stage-specific (``stage2.normal``) first, then plain."""
    for key in (f"stage{stage}.{name}", name):
        if key in cells:
            return key, cells[key]
    raise CompileError(f"the network uses cell `{name}`, which is not defined here", span,
                       hint=did_you_mean(name, cells) or "known cells: " + (", ".join(cells) or "none"))


def cell_edges(cell: AnyCell) -> list[tuple[str, list[tuple[str, str, OpImpl]]]]:
    """(node, [(src, label, impl)]) for every node: all candidates of a search cell,
    the listed edges of a discrete cell."""
    out = []
    if isinstance(cell, CellSpec):
        for node in cell.nodes:
            ops = candidate_ops(cell, node)
            out.append((node, [(src, label, impl) for src in cell.predecessors(node) for label, impl in ops]))
        return out
    table = dict(cell.ops)
    for node, edges in cell.nodes:
        listed = []
        for edge in edges:
            if edge.op not in table:
                raise CompileError(f"cell `{cell.name}`: node `{node}` uses unknown operation `{edge.op}`",
                                   cell.span, hint=did_you_mean(edge.op, table))
            listed.append((edge.src, edge.op, table[edge.op]))
        out.append((node, listed))
    return out


def _strided(hw: HW, stride: int) -> HW:
    return math.ceil(hw[0] / stride), math.ceil(hw[1] / stride)


def _span(*candidates: Span | None) -> Span | None:
    for span in candidates:
        if span is not None and span.known:
            return span
    return candidates[-1] if candidates else None


def _plan_edges(cell: AnyCell, c_cur: int, hw_in: HW, reduction: bool,
                shapes: dict) -> tuple[tuple[EdgePlan, ...], HW, int]:
    """Check every edge of a cell; returns the edges, the output resolution and channels.
    ``shapes`` remembers the output shape of each (op, stride, input shape) of the network:
    a search cell applies every candidate to every predecessor, the same few shapes."""
    if len(cell.inputs) not in (1, 2):
        raise CompileError(f"cell `{cell.name}` has {len(cell.inputs)} inputs; a cell reads two (the outputs "
                           "of the two previous cells) or one (the previous cell's output)", cell.span,
                           hint="write `inputs c0, c1` or `inputs c0`")
    hw_node = _strided(hw_in, 2) if reduction else hw_in
    states: dict[str, HW] = {name: hw_in for name in cell.inputs}
    plans = []
    for node, edges in cell_edges(cell):
        seen: dict[tuple[str, str], int] = {}
        for src, label, impl in edges:
            where = f"cell `{cell.name}`, edge {src} -> {node} (`{label}`)"
            if src not in states:
                raise CompileError(f"{where}: `{src}` is not an input or an earlier node", cell.span,
                                   hint=did_you_mean(src, states))
            copies = seen[(src, label)] = seen.get((src, label), 0) + 1
            if copies > 1 and isinstance(cell, CellSpec):
                raise CompileError(f"{where} appears twice in a search cell", cell.span,
                                   hint="a search edge is one (source, operation) pair with one α entry")
            stride = edge_stride(reduction, src, cell.inputs)
            if not impl.supports_stride(stride):
                raise CompileError(f"{where}: operation `{impl.name}` cannot take stride {stride}",
                                   _span(impl.span, cell.span),
                                   hint="use the symbol `s` as a stride in its body, or add a `stride 2:` branch")
            key = (id(impl), stride, c_cur, states[src])         # impl outlives the plan: ids are stable
            shape = shapes.get(key)
            if shape is None:
                try:
                    shape = expr_shape(impl.expr_for(stride), (c_cur, *states[src]), {"C": c_cur, "s": stride})
                except CompileError as exc:
                    raise CompileError(f"{where}: {exc.message}", _span(exc.span, impl.span, cell.span),
                                       exc.hint) from None
                shapes[key] = shape
            if shape != (c_cur, *hw_node):
                raise CompileError(
                    f"{where}: operation `{impl.name}` produces {shape[0]}x{shape[1]}x{shape[2]}, "
                    f"the node needs {c_cur}x{hw_node[0]}x{hw_node[1]}", _span(impl.span, cell.span),
                    hint="an edge operation must output `C` channels (use `out=C`) at the edge's stride `s`")
            plans.append(EdgePlan(node, src, label, impl, stride, label if copies == 1 else f"{label}__{copies}"))
        states[node] = hw_node
    if not cell.output:
        raise CompileError(f"cell `{cell.name}` has no output states", cell.span)
    for name in cell.output:
        if name not in states:
            raise CompileError(f"cell `{cell.name}` outputs unknown state `{name}`", cell.span,
                               hint=did_you_mean(name, states))
        if states[name] != hw_node:
            raise CompileError(f"cell `{cell.name}` outputs `{name}` at {states[name][0]}x{states[name][1]}, "
                               f"the other outputs are {hw_node[0]}x{hw_node[1]}", cell.span)
    return tuple(plans), hw_node, c_cur * len(cell.output)


def _plan_stem(template: NetworkTemplate) -> tuple[int, HW]:
    c_in, h, w = template.input_shape
    if template.stem is None:
        c, hw = c_in, (h, w)
    else:
        c, sh, sw = expr_shape(template.stem, (c_in, h, w), {"C": template.channels, "s": 1})
        hw = (sh, sw)
    if template.stem_concat_input:
        if hw != (h, w):
            raise CompileError("`stem_concat_input` needs a stem that keeps the input resolution", template.span)
        c += c_in
    return c, hw


def _preproc_check(index: int, reduction_prev: bool, hw_pp: HW, hw_p: HW, span: Span | None) -> None:
    if reduction_prev:
        if hw_pp[0] % 2 or hw_pp[1] % 2 or _strided(hw_pp, 2) != hw_p:
            raise CompileError(f"cell {index}: its inputs are {hw_pp[0]}x{hw_pp[1]} and {hw_p[0]}x{hw_p[1]}; "
                               "after a reduction the older input must be exactly twice as large and even",
                               span, hint="use an input size divisible by 2 for every reduction")
    elif hw_pp != hw_p:
        raise CompileError(f"cell {index}: its inputs have different resolutions "
                           f"({hw_pp[0]}x{hw_pp[1]} and {hw_p[0]}x{hw_p[1]})", span)


def plan_network(template: NetworkTemplate, cells: Mapping[str, AnyCell]) -> NetworkPlan:
    """Infer and check the shapes of a whole network.

    Example:
        >>> plan = plan_network(template, {"normal": normal, "reduce": reduce})
        >>> plan.cells[2].c_out, plan.cells[2].hw_out
        (128, (16, 16))
    """
    if not template.slots:
        raise CompileError(f"network `{template.name}` has no cells", template.span)
    stem_c, stem_hw = _plan_stem(template)
    c_pp = c_p = stem_c
    hw_pp = hw_p = stem_hw
    c_cur = template.channels
    reduction_prev = False
    rows: list[CellPlan] = []
    shapes: dict = {}
    for index, slot in enumerate(template.slots):
        stage = stage_of(template.slots, index)
        if slot.replacement is not None:
            reduction = slot.reduction
            c_cur = c_cur * 2 if reduction else c_cur
            c_out, h, w = expr_shape(slot.replacement, (c_p, *hw_p), {"C": c_cur, "s": 2 if reduction else 1})
            row = CellPlan(index, "replacement", None, slot.replacement, reduction, reduction_prev,
                           c_pp, c_p, c_cur, c_out, hw_pp, hw_p, (h, w), stage)
        elif slot.cell is not None:
            key, cell = lookup_cell(cells, slot.cell, stage, template.span)
            reduction = slot.reduction or cell.reduction
            c_cur = c_cur * 2 if reduction else c_cur
            if len(cell.inputs) == 2:
                _preproc_check(index, reduction_prev, hw_pp, hw_p, _span(cell.span, template.span))
            edges, hw_out, c_out = _plan_edges(cell, c_cur, hw_p, reduction, shapes)
            row = CellPlan(index, key, cell, None, reduction, reduction_prev, c_pp, c_p, c_cur, c_out,
                           hw_pp, hw_p, hw_out, stage, edges)
        else:
            raise CompileError(f"slot {index} of network `{template.name}` has neither a cell nor a replacement",
                               template.span)
        rows.append(row)
        c_pp, c_p, hw_pp, hw_p = c_p, row.c_out, hw_p, row.hw_out
        reduction_prev = reduction
    tail_channels = None
    if template.tail is not None:
        last = rows[-1]
        try:
            tail_channels = expr_shape(template.tail, (last.c_out, *last.hw_out), {"C": last.c_out, "s": 1})[0]
        except CompileError as exc:
            raise CompileError(f"network `{template.name}`, tail: {exc.message}", _span(exc.span, template.span),
                               exc.hint) from None
    return NetworkPlan(template, stem_c, stem_hw, tuple(rows), _plan_heads(template, rows), tail_channels)


def _plan_heads(template: NetworkTemplate, rows: list[CellPlan]) -> tuple[HeadPlan, ...]:
    wanted = [("distill", i) for i in template.distill_after]
    if template.aux_after is not None:
        wanted.append(("aux", template.aux_after))
    heads = []
    for kind, after in wanted:
        if not 0 <= after < len(rows):
            raise CompileError(f"{kind} head after cell {after}: the network has cells 0..{len(rows) - 1}",
                               template.span)
        row = rows[after]
        if not head_resolution_ok(kind, row.hw_out):
            raise CompileError(f"{kind} head after cell {after}: its input is {row.hw_out[0]}x{row.hw_out[1]}, "
                               f"the head needs at least {HEAD_MIN_RESOLUTION[kind]}x{HEAD_MIN_RESOLUTION[kind]}",
                               template.span, hint="place the head after an earlier cell")
        heads.append(HeadPlan(kind, after, row.c_out, row.hw_out))
    return tuple(heads)


def format_plan(plan: NetworkPlan) -> str:
    """The per-cell table of a plan, as fixed-width text."""
    lines = [f"{'cell':>4}  {'type':<12} {'red':<3} {'C_pp':>5} {'C_p':>5} {'C':>5} {'out':>5}  {'HxW':>7}",
             f"{'stem':>4}  {'':<12} {'':<3} {'':>5} {'':>5} {'':>5} {plan.stem_channels:>5}  "
             f"{plan.stem_hw[0]}x{plan.stem_hw[1]:<4}"]
    for r in plan.cells:
        lines.append(f"{r.index:>4}  {r.type:<12} {'R' if r.reduction else '':<3} {r.c_pp:>5} {r.c_p:>5} "
                     f"{r.c_cur:>5} {r.c_out:>5}  {r.hw_out[0]}x{r.hw_out[1]:<4}")
    return "\n".join(lines)
