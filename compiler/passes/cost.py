"""The cost of a network from its shape plan, without building it (and without torch).

:func:`network_cost` walks a :class:`~genolang.compiler.passes.shapes.NetworkPlan` in the order
the modules of :mod:`.build` run in a forward pass and counts:

* **parameters** -- exactly what ``net.parameters()`` of the built network holds (weights
  and affine batch-norm scales and shifts; running statistics are buffers), with and without
  the side heads, and the architecture parameters α of a supernet apart;
* **multiply-adds** per image on the inference path: every ``Conv2d`` (output elements x
  input channels per group x kernel area) and ``Linear`` (output x input features) outside
  the side heads. Pools, batch norm, activations and additions are not counted -- the DARTS
  convention, and what ``torch.utils.flop_counter`` reports divided by two;
* **saved activations** of one training-mode forward: the bytes of every distinct
  non-parameter tensor autograd keeps for the backward pass, from the derivative formulas
  of the ops each primitive runs (a conv keeps its input, a ReLU its output, a max pool its
  input and int64 indices, batch norm its input and four per-channel vectors, ...), with
  views sharing their base's storage. :mod:`.measure` measures the same quantity on built
  modules; tests/compiler/test_cost.py holds the two together.

A primitive registered with its own module builder has no cost rule here: it counts as a
parameter-free layer that keeps its input, and the cost says it is not ``exact`` (the summary
then measures the built network instead; the memory estimate takes the figure as it is).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Mapping

from genolang.compiler.lower.edges import candidate_ops
from genolang.compiler.passes.head_geometry import POOL
from genolang.compiler.lower.ir import CellSpec, Concat, OpExpr, Prim, Residual, Seq, Sum
from genolang.compiler.lower.primitives import PRIMITIVES, bound, conv_geometry, dw_args, is_identity, is_prim, keeps_shape
from genolang.compiler.passes.shapes import CellPlan, NetworkPlan

__all__ = ["NetworkCost", "network_cost", "HEAD_WIDTHS", "FLOAT"]

HEAD_WIDTHS = (128, 768)        # the side heads' 1x1 and 2x2 conv widths (build.heads.SideHead)
FLOAT, INDEX = 4, 8             # bytes of a float32 activation and of an int64 pool index
Shape = tuple[int, int, int]


@dataclass(frozen=True)
class NetworkCost:
    params: int                 # weights outside the side heads, without α
    side_params: int            # weights of the side heads
    arch_params: int            # α of a supernet
    mult_adds: int              # per image, inference path
    saved_per_image: int        # bytes autograd keeps per image of the batch ...
    saved_fixed: int            # ... and independent of it (per-channel statistics, α's softmax)
    exact: bool = True          # False: a primitive without a cost rule was counted as free

    def saved_bytes(self, batch: int) -> int:
        return self.saved_per_image * batch + self.saved_fixed


@dataclass(frozen=True)
class _T:
    """A tensor of the forward pass, as far as the count needs: its storage and whether it
    requires grad (a view shares its base's ``storage``)."""

    storage: int
    grad: bool


@dataclass
class _Walk:
    affine: bool                                   # the BN of cells and distill heads
    side: bool = False                             # inside a side head: params apart, no MACs
    exact: bool = True
    params: int = 0
    side_params: int = 0
    mult_adds: int = 0
    saved: dict = field(default_factory=dict)      # storage -> (bytes per image, fixed bytes)
    _ids: itertools.count = field(default_factory=itertools.count)

    # ------------------------------------------------------------------ bookkeeping

    def new(self, grad: bool) -> _T:
        return _T(next(self._ids), grad)

    def save(self, t: _T, per_image: int = 0, fixed: int = 0) -> None:
        self.saved.setdefault(t.storage, (per_image, fixed))

    def weights(self, n: int) -> None:
        if self.side:
            self.side_params += n
        else:
            self.params += n

    def macs(self, n: int) -> None:
        if not self.side:
            self.mult_adds += n

    # ------------------------------------------------------------------ layers

    def conv(self, x: _T, shape: Shape, out: Shape, c_per_group: int, kernel: int) -> _T:
        self.weights(out[0] * c_per_group * kernel)
        self.macs(out[0] * out[1] * out[2] * c_per_group * kernel)
        self.save(x, _numel(shape) * FLOAT)                   # for the weight gradient
        return self.new(True)

    def bn(self, x: _T, shape: Shape, affine: bool) -> _T:
        if affine:
            self.weights(2 * shape[0])
        if not (x.grad or affine):
            return self.new(False)                           # no graph: nothing kept
        self.save(x, _numel(shape) * FLOAT)
        # running mean and variance, and the batch mean and inverse std: C floats each
        for _ in range(4):
            self.save(self.new(False), fixed=shape[0] * FLOAT)
        return self.new(True)

    def keeps_output(self, x: _T, out: Shape) -> _T:        # relu, sigmoid, tanh
        y = self.new(x.grad)
        if x.grad:
            self.save(y, _numel(out) * FLOAT)
        return y

    def keeps_input(self, x: _T, shape: Shape) -> _T:       # silu, relu6, leaky relu, avg pool, resize
        if x.grad:
            self.save(x, _numel(shape) * FLOAT)
        return self.new(x.grad)

    def linear(self, x: _T, features: int, out: int) -> _T:
        self.weights(features * out + out)
        self.macs(features * out)
        self.save(x, features * FLOAT)
        return self.new(True)

    def relu_conv_bn(self, x: _T, shape: Shape, c_out: int, affine: bool) -> _T:
        r = self.keeps_output(x, shape)
        out = (c_out, shape[1], shape[2])
        return self.bn(self.conv(r, shape, out, shape[0], 1), out, affine)

    def factorized_reduce(self, x: _T, shape: Shape, c_out: int, affine: bool) -> _T:
        """ReLU, two offset 1x1 stride-2 convs (the second on a view), concatenated, BN."""
        c, h, w = shape
        r = self.keeps_output(x, shape)
        half = (c_out // 2, h // 2, w // 2)
        self.conv(r, shape, half, c, 1)
        self.conv(r, shape, half, c, 1)                      # x[:, :, 1:, 1:] is a view of r
        return self.bn(self.new(True), (c_out, h // 2, w // 2), affine)

    def side_head(self, kind: str, x: _T, shape: Shape, classes: int, affine: bool) -> None:
        """A distill or auxiliary head (build.heads.SideHead), run in training mode."""
        k, s = POOL[kind]
        hidden, wide = HEAD_WIDTHS
        c, h, w = shape
        pooled = ((h - k) // s + 1, (w - k) // s + 1)
        r = self.keeps_output(x, shape)
        p = self.keeps_input(r, shape)
        y = self.bn(self.conv(p, (c, *pooled), (hidden, *pooled), c, 1), (hidden, *pooled), affine)
        y = self.keeps_output(y, (hidden, *pooled))
        small = (wide, pooled[0] - 1, pooled[1] - 1)
        y = self.bn(self.conv(y, (hidden, *pooled), small, hidden, 4), small, affine)
        self.keeps_output(y, small)
        self.linear(self.new(True), wide, classes)            # on the global mean, which keeps nothing

    # ------------------------------------------------------------------ expressions

    def expr(self, expr: OpExpr, x: _T, shape: Shape, env: Mapping[str, int], affine: bool) -> tuple[_T, Shape]:
        if isinstance(expr, Prim):
            return self.prim(expr, x, shape, env, affine)
        if isinstance(expr, Seq):
            for part in expr.parts:
                x, shape = self.expr(part, x, shape, env, affine)
            return x, shape
        if isinstance(expr, Residual):
            y, out = self.expr(expr.body, x, shape, env, affine)
            return (self.new(x.grad or y.grad) if keeps_shape(expr.body, shape[0], env) else y), out
        if isinstance(expr, (Sum, Concat)):
            outs = [self.expr(part, x, shape, env, affine) for part in expr.parts]
            grad = any(t.grad for t, _ in outs)
            c = sum(s[0] for _, s in outs) if isinstance(expr, Concat) else outs[0][1][0]
            return self.new(grad), (c, *outs[0][1][1:])
        raise TypeError(f"not an operation expression: {expr!r}")

    def prim(self, prim: Prim, x: _T, shape: Shape, env: Mapping[str, int], affine: bool) -> tuple[_T, Shape]:
        definition, args = bound(prim, env)
        out = definition.shape(*shape, args)
        if definition.build is not None or prim.name not in _RULES:
            self.exact = False
            return self.keeps_input(x, shape), out
        return _RULES[prim.name](self, x, shape, out, args, affine), out


def _numel(shape: Shape) -> int:
    return shape[0] * shape[1] * shape[2]


def _conv_rule(w: _Walk, x: _T, shape: Shape, out: Shape, args, affine: bool) -> _T:
    (kh, kw), _, _ = conv_geometry(args, args["_span"])
    return w.conv(x, shape, out, shape[0] // int(args["groups"]), kh * kw)


def _max_pool(w: _Walk, x: _T, shape: Shape, out: Shape, args, affine: bool) -> _T:
    if x.grad:
        w.save(x, _numel(shape) * FLOAT)
        w.save(w.new(False), _numel(out) * INDEX)
    return w.new(x.grad)


def _se(w: _Walk, x: _T, shape: Shape, out: Shape, args, affine: bool) -> _T:
    """mean -> conv (bias) -> SiLU -> conv (bias) -> sigmoid, times the input."""
    c = shape[0]
    hidden = max(1, int(float(args["base"]) * float(args["ratio"])))
    w.weights(hidden + c)                                     # the two biases
    s = w.conv(w.new(x.grad), (c, 1, 1), (hidden, 1, 1), c, 1)
    s = w.keeps_input(s, (hidden, 1, 1))
    s = w.keeps_output(w.conv(s, (hidden, 1, 1), (c, 1, 1), hidden, 1), (c, 1, 1))
    if s.grad:
        w.save(x, _numel(shape) * FLOAT)                     # x * scale keeps both
    if x.grad:
        w.save(s, c * FLOAT)
    return w.new(True)


_RULES = {
    **{name: (lambda w, x, shape, out, a, affine: w.keeps_output(x, out)) for name in ("relu", "sigmoid", "tanh")},
    **{name: (lambda w, x, shape, out, a, affine: w.keeps_input(x, shape))
       for name in ("silu", "relu6", "leaky_relu", "avg_pool", "resize")},
    "identity": lambda w, x, shape, out, a, affine: x,
    "subsample": lambda w, x, shape, out, a, affine: x,        # a view
    "zero": lambda w, x, shape, out, a, affine: w.new(False),
    "random": lambda w, x, shape, out, a, affine: w.new(False),
    "bn": lambda w, x, shape, out, a, affine: w.bn(x, shape, affine),
    "conv": _conv_rule,
    "dwconv": lambda w, x, shape, out, a, affine: _conv_rule(w, x, shape, out, dw_args(shape[0], a), affine),
    "pwconv": lambda w, x, shape, out, a, affine: w.conv(x, shape, out, shape[0], 1),
    "max_pool": _max_pool,
    "factorized_reduce": lambda w, x, shape, out, a, affine: w.factorized_reduce(x, shape, int(a["out"]), affine),
    "se": _se,
}
assert set(_RULES) <= set(PRIMITIVES)


# ----------------------------------------------------------------------------- the network


def _cell(w: _Walk, row: CellPlan, s0: _T, s1: _T, drop_path: float) -> _T:
    cell = row.cell
    c, hw_in = row.c_cur, row.hw_p
    if len(cell.inputs) == 1:
        x = s1 if row.c_p == c else w.relu_conv_bn(s1, (row.c_p, *hw_in), c, w.affine)
        states = {cell.inputs[0]: x}
    else:
        pre0 = (w.factorized_reduce(s0, (row.c_pp, *row.hw_pp), c, w.affine) if row.reduction_prev
                else w.relu_conv_bn(s0, (row.c_pp, *row.hw_pp), c, w.affine))
        states = {cell.inputs[0]: pre0, cell.inputs[1]: w.relu_conv_bn(s1, (row.c_p, *hw_in), c, w.affine)}
    search = isinstance(cell, CellSpec)
    for node in [n if isinstance(n, str) else n[0] for n in cell.nodes]:
        edges = [e for e in row.edges if e.node == node]
        terms = []
        relu_of: dict[str, _T] = {}
        for edge in edges:
            expr = edge.impl.expr_for(edge.stride)
            x = states[edge.src]
            shape = (c, *(hw_in if edge.src in cell.inputs else row.hw_out))
            env = {"C": c, "s": edge.stride}
            if search:
                if is_prim(expr, "zero"):
                    continue                                 # the supernet never runs a zero op
                if isinstance(expr, Seq) and len(expr.parts) > 1 and is_prim(expr.parts[0], "relu"):
                    # one ReLU per source state, shared by the ops that start with one
                    if edge.src not in relu_of:
                        relu_of[edge.src] = w.keeps_output(x, shape)
                    y, out = w.expr(Seq(expr.parts[1:]), relu_of[edge.src], shape, env, w.affine)
                else:
                    y, out = w.expr(expr, x, shape, env, w.affine)
                w.save(y, _numel(out) * FLOAT)               # w * y and addcmul keep y (and w: see below)
            else:
                y, out = w.expr(expr, x, shape, env, w.affine)
                if drop_path > 0 and y.grad and not is_identity(expr):
                    w.save(w.new(False), FLOAT)              # y * (mask / keep) keeps the N x 1 x 1 x 1 mask
            terms.append(y)
        states[node] = w.new(any(t.grad for t in terms))
    outputs = [states[name] for name in cell.output]
    return outputs[0] if len(outputs) == 1 else w.new(any(t.grad for t in outputs))


def network_cost(plan: NetworkPlan, *, search: bool) -> NetworkCost:
    """The cost of the network :mod:`.build` makes from ``plan``: the supernet when ``search``
    (BN without affine), else the discrete network (affine BN, the template's drop path)."""
    template = plan.template
    w = _Walk(affine=not search)
    c_in, h, wd = template.input_shape
    x, shape = w.new(False), (c_in, h, wd)                   # the images
    if template.stem is not None:                            # the stem's BN is always affine
        x, shape = w.expr(template.stem, x, shape, {"C": template.channels, "s": 1}, True)
    if template.stem_concat_input:
        x = w.new(x.grad)
    s0 = s1 = x
    for row in plan.cells:
        if row.cell is None:
            env = {"C": row.c_cur, "s": 2 if row.reduction else 1}
            out, _ = w.expr(row.replacement, s1, (row.c_p, *row.hw_p), env, w.affine)
        else:
            out = _cell(w, row, s0, s1, 0.0 if search else template.drop_path)
        s0, s1 = s1, out
        for head in plan.heads:
            if head.after == row.index:
                w.side = True
                w.side_head(head.kind, out, (head.channels, *head.hw), template.classes,
                            w.affine if head.kind == "distill" else True)
                w.side = False
    last = plan.cells[-1]
    if template.tail is not None:                            # built with affine BN
        s1, _ = w.expr(template.tail, s1, (last.c_out, *last.hw_out), {"C": last.c_out, "s": 1}, True)
    w.linear(w.new(s1.grad), plan.classifier_in, template.classes)
    distill = sum(head.kind == "distill" for head in plan.heads)
    if distill:                          # e = softmax(ensemble logits), kept by each e_k * logits_k
        w.save(w.new(False), fixed=(distill + 1) * FLOAT)
    arch = 0
    if search:
        # α of each cell type once (slots share it); its softmax, kept by the softmax and by
        # every weighted edge of the node, is computed once per forward
        for cell in {row.key: row.cell for row in plan.cells if row.cell is not None}.values():
            for node in cell.nodes:
                n = len(cell.predecessors(node)) * len(candidate_ops(cell, node))
                arch += n
                w.save(w.new(False), fixed=n * FLOAT)
    per_image = sum(p for p, _ in w.saved.values())
    fixed = sum(f for _, f in w.saved.values())
    return NetworkCost(w.params, w.side_params, arch, w.mult_adds, per_image, fixed, w.exact)
