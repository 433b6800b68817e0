"""The cell walker shared by the search supernet and the discrete network.

Both targets are a :class:`CellNetwork`: stem -> cells -> heads -> classifier, built from a
:class:`~genolang.compiler.passes.shapes.NetworkPlan`. They differ only in the *node builder*:
the supernet builds mixed nodes (every candidate op, weighted by relaxed α), the discrete
network builds summing nodes (one op per kept edge, drop path). The topology is resolved
at build time into flat lists of state indices; ``forward`` never looks at a graph.

Parameter names are ``cells.<i>.<node>.<src>.<op>.body.…`` in both targets (plus
``cells.<i>.pre0`` / ``pre1``, ``stem``, ``classifier``, ``distill_heads.<k>``,
``aux_head``), so weights move between them by name.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import torch
from torch import nn

from genolang.compiler.build.heads import Classifier, aux_head, distill_head
from genolang.compiler.build.ops import build_edge_op
from genolang.compiler.build.layers import FactorizedReduce, build_expr, strided_shape
from genolang.compiler.passes.shapes import CellPlan, EdgePlan, NetworkPlan
from genolang.base.errors import CompileError

__all__ = ["NetOutput", "net_output", "Cell", "ReplacementCell", "CellNetwork", "NodeBuilder", "relu_conv_bn",
           "EmptyNode", "build_node_edges"]


class NetOutput(NamedTuple):
    """``logits`` of the final classifier; ``ensemble`` = ``cat([e0*h1, …, en*logits], 0)``
    over the distill heads (just ``logits`` without heads); ``aux`` = auxiliary-head logits
    in training mode, else None; ``heads`` = each distill head's own logits (for the CE that
    trains the teacher's heads)."""

    logits: torch.Tensor
    ensemble: torch.Tensor
    aux: torch.Tensor | None
    heads: tuple[torch.Tensor, ...] = ()


def net_output(net: nn.Module, logits: torch.Tensor, side: list[torch.Tensor], aux) -> NetOutput:
    """The output of a network with distill heads: the ensemble is ``cat([e_k · head_k, …,
    e_last · logits], 0)`` with ``e = softmax(ensemble_logits)`` (CDARTS's ``em_output``)."""
    if not side:
        return NetOutput(logits, logits, aux)
    e = torch.softmax(net.ensemble_logits, dim=0)
    parts = [e[k] * h for k, h in enumerate(side)] + [e[-1] * logits]
    return NetOutput(logits, torch.cat(parts, dim=0), aux, tuple(side))


# A node builder gets the cell's plan row, the node name, its edges and the state index of
# every state name, and returns a module ``node(states, weights) -> tensor``.
NodeBuilder = Callable[[CellPlan, str, Sequence[EdgePlan], dict[str, int]], nn.Module]


def relu_conv_bn(c_in: int, c_out: int, affine: bool) -> nn.Sequential:
    """DARTS ReLUConvBN 1x1: the preprocessing of a cell input."""
    return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, 1, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


def build_node_edges(row: CellPlan, edges: Sequence[EdgePlan], affine: bool) -> nn.ModuleDict:
    """``ModuleDict(src -> ModuleDict(key -> EdgeOp))`` for the edges of one node (the key is
    the label; a repeated edge of a discrete cell has its own copy, ``label__2``)."""
    by_src = nn.ModuleDict()
    for edge in edges:
        if edge.src not in by_src:
            by_src[edge.src] = nn.ModuleDict()
        by_src[edge.src][edge.module_key] = build_edge_op(edge.impl, row.c_cur, edge.stride, affine)
    return by_src


class EmptyNode(nn.Module):
    """A node without edges: zeros shaped like the node (from the last input state, strided)."""

    def __init__(self, stride: int, reference: int = 1):
        super().__init__()
        self.stride = stride
        self.reference = reference

    def forward(self, states: list[torch.Tensor], weights: torch.Tensor | None = None) -> torch.Tensor:
        x = states[self.reference]
        return x.new_zeros(strided_shape(x, self.stride))


def node_names(cell) -> list[str]:
    """Node names of a search cell (plain names) or a discrete cell ((name, edges) pairs)."""
    return [n if isinstance(n, str) else n[0] for n in cell.nodes]


class Cell(nn.Module):
    """Preprocess the inputs, run the nodes in order, concatenate the output states.

    A two-input cell reads the outputs of the two previous cells, each brought to ``C``
    channels (``pre0``, ``pre1``); a one-input cell reads the previous cell's output, as it
    is when it has ``C`` channels already (NAS-Bench-201), else through ``pre0``."""

    def __init__(self, row: CellPlan, node_builder: NodeBuilder, affine: bool):
        super().__init__()
        cell = row.cell
        if len(cell.inputs) == 1:
            self.pre0 = nn.Identity() if row.c_p == row.c_cur else relu_conv_bn(row.c_p, row.c_cur, affine)
        else:
            self.pre0 = (FactorizedReduce(row.c_pp, row.c_cur, affine) if row.reduction_prev
                         else relu_conv_bn(row.c_pp, row.c_cur, affine))
            self.pre1 = relu_conv_bn(row.c_p, row.c_cur, affine)
        index = {name: i for i, name in enumerate(cell.inputs)}
        self.node_names = node_names(cell)
        for node in self.node_names:
            if hasattr(self, node):
                raise CompileError(f"cell `{cell.name}`: the node name `{node}` is reserved", cell.span)
            edges = [e for e in row.edges if e.node == node]
            if edges:
                module = node_builder(row, node, edges, dict(index))
            else:
                module = EmptyNode(2 if row.reduction else 1, len(cell.inputs) - 1)
            self.add_module(node, module)
            index[node] = len(index)
        self._nodes = [getattr(self, n) for n in self.node_names]    # flat run order
        self.output_index = [index[name] for name in cell.output]
        self.n_inputs = len(cell.inputs)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor,
                weights: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        states = [self.pre0(s1)] if self.n_inputs == 1 else [self.pre0(s0), self.pre1(s1)]
        for i, node in enumerate(self._nodes):
            states.append(node(states, None if weights is None else weights[i]))
        if len(self.output_index) == 1:
            return states[self.output_index[0]]
        return torch.cat([states[i] for i in self.output_index], dim=1)


class ReplacementCell(nn.Module):
    """A fixed op in place of a cell (reduction ablations): applied to the newer input."""

    def __init__(self, row: CellPlan, affine: bool):
        super().__init__()
        env = {"C": row.c_cur, "s": 2 if row.reduction else 1}
        self.op, _ = build_expr(row.replacement, row.c_p, env, affine)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights=None) -> torch.Tensor:
        return self.op(s1)


class _StemConcat(nn.Module):
    def __init__(self, stem: nn.Module):
        super().__init__()
        self.stem = stem

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.stem(x), x], dim=1)


def attach_stem(net: nn.Module, plan: NetworkPlan) -> None:
    """Give ``net`` the template's stem (its BN is always affine, as in CDARTS)."""
    template = plan.template
    stem = nn.Identity() if template.stem is None else build_expr(
        template.stem, template.input_shape[0], {"C": template.channels, "s": 1}, affine=True)[0]
    net.stem = _StemConcat(stem) if template.stem_concat_input else stem


def attach_heads(net: nn.Module, plan: NetworkPlan, *, affine: bool, trainable_ensemble: bool) -> None:
    """Give ``net`` the distill heads, auxiliary head, classifier and ensemble weights of the
    plan (shared by the cell networks here and the macro networks)."""
    template = plan.template
    distill = [h for h in plan.heads if h.kind == "distill"]
    net.distill_heads = nn.ModuleList(distill_head(h.channels, template.classes, affine) for h in distill)
    net.distill_after = [h.after for h in distill]
    aux = [h for h in plan.heads if h.kind == "aux"]
    net.aux_head = aux_head(aux[0].channels, template.classes) if aux else None
    net.aux_after = aux[0].after if aux else None
    tail = None
    if template.tail is not None:
        last = plan.cells[-1].c_out
        tail = build_expr(template.tail, last, {"C": last, "s": 1}, affine=True)[0]
    net.classifier = Classifier(plan.classifier_in, template.classes, tail)
    # e = softmax(ensemble_logits): uniform 1/(heads+1) unless trained (NNI makes it trainable).
    logits = torch.zeros(len(distill) + 1)
    if trainable_ensemble:
        net.ensemble_logits = nn.Parameter(logits)
    else:
        net.register_buffer("ensemble_logits", logits)


class CellNetwork(nn.Module):
    """Stem, cells, side heads and classifier from a plan; subclasses give the node builder.

    ``affine`` applies to the BN of cells and distill heads; the stem's BN is always affine
    (CDARTS) and the auxiliary head is the DARTS one (affine).
    """

    def __init__(self, plan: NetworkPlan, node_builder: NodeBuilder, *, affine: bool,
                 trainable_ensemble: bool = False):
        super().__init__()
        self.plan = plan
        attach_stem(self, plan)
        self.cells = nn.ModuleList(
            ReplacementCell(row, affine) if row.cell is None else Cell(row, node_builder, affine)
            for row in plan.cells)
        attach_heads(self, plan, affine=affine, trainable_ensemble=trainable_ensemble)
        self._cell_list = list(self.cells)
        self._memory_format: torch.memory_format | None = None

    def use_channels_last(self, enabled: bool = True) -> "CellNetwork":
        """Run in channels-last memory format (weights now, inputs at every forward).

        On CPU this is the fast layout for depthwise convolutions (about 1.7x per search
        step in bench/bench_compiler.py); on GPU it helps under bf16/fp16 autocast.
        """
        fmt = torch.channels_last if enabled else torch.contiguous_format
        self.to(memory_format=fmt)
        self._memory_format = fmt
        return self

    def cell_weights(self) -> list[Sequence[torch.Tensor] | None]:
        """Per-cell node weights for this forward pass (None for discrete cells)."""
        return [None] * len(self._cell_list)

    def forward(self, x: torch.Tensor, weights: list | None = None) -> NetOutput:
        weights = self.cell_weights() if weights is None else weights
        if self._memory_format is not None and x.dim() == 4:
            x = x.contiguous(memory_format=self._memory_format)
        s0 = s1 = self.stem(x)
        side: list[torch.Tensor] = []
        aux = None
        for i, cell in enumerate(self._cell_list):
            s0, s1 = s1, cell(s0, s1, weights[i])
            if i in self.distill_after:
                side.append(self.distill_heads[self.distill_after.index(i)](s1))
            if i == self.aux_after and self.training:
                aux = self.aux_head(s1)
        return net_output(self, self.classifier(s1), side, aux)

    def weight_parameters(self) -> list[nn.Parameter]:
        return list(self.parameters())
