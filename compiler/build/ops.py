"""Edge-level building blocks shared by the supernet and the discrete network.

* the special operations of the zero configurations (``zero``, ``random``) and the
  candidate list of a search-cell node with the special op appended (:data:`ZERO_CONFIGS`);
* what a ``random`` / ``zero`` edge becomes in an evaluation or retraining network;
* :func:`build_edge_op`: one labelled operation of one edge, built for ``C`` channels and
  the edge's stride;
* drop path.
"""

from __future__ import annotations

import torch
from torch import nn

from genolang.compiler.lower.edges import (  # noqa: F401  (re-exported: the builders' one import place)
    RANDOM_OP, SPECIAL_OPS, ZERO_OP, candidate_ops, edge_stride, eval_edge_op, is_random_op, is_zero_op,
    special_op_of,
)
from genolang.compiler.lower.ir import OpImpl, Seq
from genolang.compiler.build.layers import build_expr
from genolang.compiler.lower.primitives import is_identity, is_prim
from genolang.base.errors import CompileError

__all__ = [
    "ZERO_OP", "RANDOM_OP", "SPECIAL_OPS", "candidate_ops", "special_op_of", "edge_stride",
    "is_zero_op", "is_random_op", "eval_edge_op", "build_edge_op", "EdgeOp", "drop_path",
]


class EdgeOp(nn.Module):
    """One op on one edge. ``body`` holds the whole op, so parameter names match in every
    network; ``after_relu`` is the op minus a leading ReLU, which the supernet calls on a
    ReLU it computed once per source state (most DARTS ops start with one)."""

    def __init__(self, body: nn.Module, starts_with_relu: bool, identity: bool, zero: bool):
        super().__init__()
        self.body = body
        self.starts_with_relu = starts_with_relu
        self.identity = identity
        self.zero = zero
        # A plain list keeps the tail out of the module tree (its parameters are body's).
        self._tail = [body[1:]] if starts_with_relu else []

    def after_relu(self, x_relu: torch.Tensor) -> torch.Tensor:
        """The op applied to ``relu(x)`` (only for ops that start with a ReLU)."""
        return self._tail[0](x_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def build_edge_op(impl: OpImpl, channels: int, stride: int, affine: bool) -> EdgeOp:
    """Build ``impl`` for an edge of ``channels`` channels and stride ``stride``.

    Raises:
        CompileError: the op cannot take the stride, or does not produce ``channels``.
    """
    expr = impl.expr_for(stride)
    module, c_out = build_expr(expr, channels, {"C": channels, "s": stride}, affine)
    if c_out != channels:
        raise CompileError(f"operation `{impl.name}` produces {c_out} channels, the edge needs {channels}",
                           impl.span)
    starts_with_relu = isinstance(expr, Seq) and len(expr.parts) > 1 and is_prim(expr.parts[0], "relu")
    return EdgeOp(module, starts_with_relu, is_identity(expr), is_prim(expr, "zero"))


def drop_path(x: torch.Tensor, p: float) -> torch.Tensor:
    """Drop whole samples with probability ``p`` and rescale the kept ones by 1/(1-p).

    The mask is drawn on ``x.device`` and applied out of place, so autograd stays valid.
    """
    keep = 1.0 - p
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * (mask / keep)
