"""PC-DARTS's partial channels: a mixed node whose candidates see 1/K of each edge's channels.

Per edge i of a node: the first ``C/K`` channels of the input go through the weighted
candidates, the other ``C - C/K`` bypass them (max-pooled 2x2 on a stride-2 edge), the two
are concatenated and shuffled in K groups (``channel_shuffle``), and the edge's result is
scaled by its edge weight (softmax(β), PC-DARTS's edge normalisation) when edges are
weighted. The node is the sum over its edges::

    node = Σ_i β_i · shuffle(cat(Σ_o w[i, o] · o(x_i[:C/K]), bypass(x_i[C/K:])), K)

The candidates are built with ``C/K`` channels, so the supernet holds about 1/K of the
plain one's op weights and activations. On CPU a partial supernet runs in the contiguous
layout: in channels-last, the backward of the CPU convolutions at the small channel counts
C/K corrupts memory (torch 2.13, oneDNN), so the search does not choose channels-last for it.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F

from genolang.compiler.build.layers import strided_shape
from genolang.compiler.passes.shapes import CellPlan, EdgePlan
from genolang.base.errors import CompileError

__all__ = ["PartialWeights", "channel_shuffle", "partial_row", "PartialMix"]


class PartialWeights(NamedTuple):
    """A partial node's weights: ``weights`` (rows, ops) over the candidates, ``edge`` the
    rows' edge weights (softmax(β)) or None when edges are summed."""

    weights: torch.Tensor
    edge: torch.Tensor | None


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave ``groups`` equal channel groups: channel ``g·n + j`` moves to ``j·groups + g``."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)


def partial_row(row: CellPlan, k: int) -> CellPlan:
    """The plan row the candidates of a partial node are built from (``C/K`` channels);
    refuses channel counts and resolutions the split and the bypass pooling cannot take."""
    cell = row.cell
    if row.c_cur % k:
        raise CompileError(f"partial_channels = {k} does not divide cell `{cell.name}`'s {row.c_cur} channels "
                           f"(slot {row.index})", cell.span, hint="choose K dividing every cell's channel count")
    if row.reduction and (row.c_cur // k) % 2:
        raise CompileError(f"partial_channels = {k} leaves {row.c_cur // k} channels in reduction cell "
                           f"`{cell.name}` (slot {row.index}); its strided skip (factorized reduce) halves them",
                           cell.span, hint="choose K so that C/K is even in the reduction cells")
    if row.reduction and any(d % 2 for d in row.hw_p):
        raise CompileError(f"partial_channels: reduction cell `{cell.name}` (slot {row.index}) reads an odd "
                           f"resolution {row.hw_p}; its bypass pools 2x2 and would not match the strided ops",
                           cell.span, hint="use an even input size")
    return dataclasses.replace(row, c_cur=row.c_cur // k)


class PartialMix:
    """The forward of a partial node (mixed into :class:`~.supernet.MixedNode`)."""

    k: int
    _rows: list        # per edge: (state index, stride, [(column, op)])

    def setup_partial(self, k: int, cell_preds: Sequence[str], edges: Sequence[EdgePlan], labels: list[str]) -> None:
        self.k = k
        strides = {e.src: e.stride for e in edges}
        self._strides = [strides.get(src, 1) for src in cell_preds]

    def partial_mix(self, states: Sequence[torch.Tensor], weights: PartialWeights) -> torch.Tensor:
        w, edge = weights
        out = None
        for row, ((index, ops), columns, stride) in enumerate(zip(self._plan, self._row_columns, self._strides)):
            x = states[index]
            c = x.shape[1] // self.k
            part, rest = x[:, :c], x[:, c:]
            y = None
            for col, term in zip(columns, self.candidate_outputs(part, ops)):
                y = w[row, col] * term if y is None else torch.addcmul(y, w[row, col], term)
            if y is None:     # only zero candidates on this edge
                y = part.new_zeros(strided_shape(part, stride))
            if stride == 2:
                rest = F.max_pool2d(rest, 2, 2)
            t = channel_shuffle(torch.cat([y, rest], dim=1), self.k)
            if edge is not None:
                t = edge[row] * t
            out = t if out is None else out + t
        return out
