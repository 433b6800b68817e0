"""How much memory a network will need, from its shape plan, before anything is allocated.

:func:`estimate_network` walks a :class:`~genolang.compiler.shapes.NetworkPlan` the way the
builders will and counts, without torch:

* parameters: every conv, batch norm, squeeze-excitation, the cell preprocessing, the side
  heads and the classifier (exact for the built-in primitives);
* activations: the output of every primitive for a batch of ``batch`` images, which bounds
  what a training-mode forward keeps for the backward pass.

``geno compile`` refuses a network whose estimate exceeds
:func:`genolang.limits.network_memory_budget`, with the figure, instead of running out of
memory while building it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from genolang.compiler.ir import Concat, OpExpr, Prim, Residual, Seq, Sum
from genolang.compiler.primitives import bound, expr_shape
from genolang.compiler.shapes import NetworkPlan

__all__ = ["MemoryEstimate", "estimate_network", "BYTES_PER_VALUE"]

BYTES_PER_VALUE = 4                 # float32
_HEAD_HIDDEN = (128, 768)           # the side heads' 1x1 and 2x2 conv widths (build.heads)


@dataclass(frozen=True)
class MemoryEstimate:
    params: int                     # parameter values (plus batch-norm running statistics)
    activations: int                # values kept by one training forward at ``batch``
    batch: int

    @property
    def bytes(self) -> int:
        # weights and their gradients, and the activations of one forward
        return (2 * self.params + self.activations) * BYTES_PER_VALUE

    def describe(self) -> str:
        return (f"about {_gib(self.bytes)} ({self.params:,} parameters, {_gib(self.activations * BYTES_PER_VALUE)} "
                f"of activations at batch {self.batch})")


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"


def _prim_params(prim: Prim, c: int, args: Mapping[str, object]) -> int:
    name = prim.name
    if name in ("conv", "dwconv", "pwconv"):
        k = args.get("k", 1) if name != "pwconv" else 1
        kh, kw = (k, k) if isinstance(k, int) else tuple(k)
        out = c if name == "dwconv" else int(args["out"])
        groups = c if name == "dwconv" else int(args.get("groups", 1))
        return out * (c // max(groups, 1)) * kh * kw
    if name == "bn":
        return 4 * c                # weight, bias, running mean and variance
    if name == "factorized_reduce":
        out = int(args["out"])
        return 2 * c * (out // 2) + 4 * out
    if name == "se":
        hidden = max(1, int(float(args["base"]) * float(args["ratio"])))
        return 2 * c * hidden + c + hidden
    return 0


def _expr(expr: OpExpr, shape: tuple[int, int, int], env: Mapping[str, int]) -> tuple[int, int, tuple[int, int, int]]:
    """(parameters, activation values per image, output shape) of ``expr`` on ``shape``."""
    if isinstance(expr, Prim):
        _, args = bound(expr, env)
        out = expr_shape(expr, shape, env)
        return _prim_params(expr, shape[0], args), out[0] * out[1] * out[2], out
    if isinstance(expr, Seq):
        params = acts = 0
        for part in expr.parts:
            p, a, shape = _expr(part, shape, env)
            params, acts = params + p, acts + a
        return params, acts, shape
    if isinstance(expr, Residual):
        return _expr(expr.body, shape, env)
    if isinstance(expr, (Sum, Concat)):
        params = acts = 0
        for part in expr.parts:
            p, a, _ = _expr(part, shape, env)
            params, acts = params + p, acts + a
        out = expr_shape(expr, shape, env)
        return params, acts + out[0] * out[1] * out[2], out
    return 0, 0, shape


def estimate_network(plan: NetworkPlan, batch: int) -> MemoryEstimate:
    """Parameters and activations of the network of ``plan`` (see the module docstring)."""
    template = plan.template
    params = acts = 0
    c_in, h, w = template.input_shape
    if template.stem is not None:
        p, a, _ = _expr(template.stem, (c_in, h, w), {"C": template.channels, "s": 1})
        params, acts = params + p, acts + a
    for row in plan.cells:
        if row.replacement is not None:
            p, a, _ = _expr(row.replacement, (row.c_p, *row.hw_p), {"C": row.c_cur, "s": 2 if row.reduction else 1})
            params, acts = params + p, acts + a
            continue
        # preprocessing of the two inputs: ReLU-conv1x1-BN (or FactorizedReduce) to C each
        params += (row.c_pp + row.c_p) * row.c_cur + 8 * row.c_cur
        acts += 2 * row.c_cur * row.hw_p[0] * row.hw_p[1]
        for edge in row.edges:
            # an edge reads a cell input at the input resolution, a node at the output one
            hw = row.hw_p if edge.src in row.cell.inputs else row.hw_out
            p, a, _ = _expr(edge.impl.expr_for(edge.stride), (row.c_cur, *hw), {"C": row.c_cur, "s": edge.stride})
            params, acts = params + p, acts + a
        acts += row.c_out * row.hw_out[0] * row.hw_out[1]
    for head in plan.heads:
        hidden, wide = _HEAD_HIDDEN
        params += head.channels * hidden + hidden * wide * 4 + wide * template.classes + template.classes + 4 * (hidden + wide)
        acts += head.channels * head.hw[0] * head.hw[1]
    params += plan.classifier_in * template.classes + template.classes
    return MemoryEstimate(params, acts * batch, batch)
