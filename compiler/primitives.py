"""The catalogue of primitive layers, and the builder of op expressions.

Every primitive has a parameter schema (names and defaults), a shape rule
``(c, h, w, args) -> (c, h, w)`` and a builder ``(c_in, args, affine) -> nn.Module``.
Op expressions (:class:`~genolang.compiler.ir.Prim` and the combinators) are built with the
free symbols ``C`` and ``s`` bound by an environment such as ``{"C": 16, "s": 2}``.

Shape rules run without building anything, so the shape pass (:mod:`.shapes`) can check a
whole network before a single weight is allocated. Builders trust the shape rules: a shape
error is always found by :func:`expr_shape` first.

Example:
    >>> from genolang.compiler.ir import Prim, Seq, Sym
    >>> op = Seq((Prim("relu"), Prim("conv", (("k", 3), ("stride", Sym("s"))))))
    >>> module, c_out = build_expr(op, 8, {"C": 16, "s": 2}, affine=True)
    >>> expr_shape(op, (8, 32, 32), {"C": 16, "s": 2})
    (16, 16, 16)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from genolang.compiler.dwconv import DepthwiseConv2d
from genolang.compiler.ir import (
    Concat, OpExpr, Prim, Residual, Seq, Sum, Sym, evaluate,
)
from genolang.errors import CompileError, Span, did_you_mean

__all__ = [
    "PrimitiveDef", "PRIMITIVES", "REQUIRED", "register_primitive", "bind_args",
    "expr_shape", "build_expr", "is_identity", "is_prim", "Shape",
]

Shape = tuple[int, int, int]            # (channels, height, width) of one sample
Args = dict[str, object]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()                   # a parameter without a default


@dataclass(frozen=True)
class PrimitiveDef:
    """One primitive layer: parameters with defaults, a shape rule and a module builder."""

    name: str
    params: tuple[tuple[str, object], ...]
    shape: Callable[[int, int, int, Args], Shape]
    build: Callable[[int, Args, bool], nn.Module]
    doc: str = ""


PRIMITIVES: dict[str, PrimitiveDef] = {}


def register_primitive(name: str, params: Mapping[str, object] | None = None, doc: str = ""):
    """Decorator pair: ``register_primitive(name, params)(shape_rule, builder)``."""

    def register(shape: Callable, build: Callable) -> PrimitiveDef:
        if name in PRIMITIVES:
            raise ValueError(f"primitive `{name}` registered twice")
        definition = PrimitiveDef(name, tuple((params or {}).items()), shape, build, doc)
        PRIMITIVES[name] = definition
        return definition

    return register


# ----------------------------------------------------------------------------- argument helpers


def _pair(value: object, what: str, span: Span) -> tuple[int, int]:
    if isinstance(value, bool):
        raise CompileError(f"`{what}` must be an integer or a pair of integers, got {value!r}", span)
    if isinstance(value, int):
        return value, value
    if isinstance(value, float) and value.is_integer():
        return int(value), int(value)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    raise CompileError(f"`{what}` must be an integer or a pair of integers, got {value!r}", span)


def _positive_int(args: Args, key: str, span: Span) -> int:
    value = args[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise CompileError(f"`{key}` must be a positive integer, got {value!r}", span)
    return value


def bind_args(prim: Prim, env: Mapping[str, int]) -> Args:
    """Check a primitive's arguments against its schema and evaluate them in ``env``.

    Raises:
        CompileError: unknown primitive, unknown or missing parameter, unbound symbol.
    """
    definition = PRIMITIVES.get(prim.name)
    if definition is None:
        raise CompileError(f"unknown primitive `{prim.name}`", prim.span,
                           hint=did_you_mean(prim.name, PRIMITIVES) or
                           "known primitives: " + ", ".join(sorted(PRIMITIVES)))
    schema = dict(definition.params)
    given: Args = {}
    for key, value in prim.args:
        if key not in schema:
            known = ", ".join(schema) or "none"
            raise CompileError(f"primitive `{prim.name}` has no parameter `{key}`", prim.span,
                               hint=did_you_mean(key, schema) or f"its parameters: {known}")
        if key in given:
            raise CompileError(f"parameter `{key}` given twice to `{prim.name}`", prim.span)
        given[key] = value
    bound: Args = {}
    for key, default in schema.items():
        value = given.get(key, default)
        if value is REQUIRED:
            raise CompileError(f"primitive `{prim.name}` needs the parameter `{key}`", prim.span)
        try:
            bound[key] = evaluate(value, env)
        except CompileError as exc:
            raise CompileError(f"in `{prim.name}`: {exc.message}", prim.span, exc.hint) from None
    return bound


# ----------------------------------------------------------------------------- shape arithmetic


def _conv_out(size: int, k: int, stride: int, dilation: int, pad: int) -> int:
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def _strided(size: int, stride: int) -> int:
    return math.ceil(size / stride)


def _check_positive(shape: Shape, name: str, span: Span) -> Shape:
    c, h, w = shape
    if c < 1 or h < 1 or w < 1:
        raise CompileError(f"`{name}` produces an empty tensor ({c}x{h}x{w}): the input is too small",
                           span)
    return shape


# ----------------------------------------------------------------------------- modules


class Zero(nn.Module):
    """Zeros shaped like the strided input; allocates, never convolves."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        s = self.stride
        return x.new_zeros(n, c, (h + s - 1) // s, (w + s - 1) // s)


class RandomOp(nn.Module):
    """U[0, 1) noise shaped like the strided input, fresh on every call (ICDARTS V2-V4)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        s = self.stride
        return torch.rand(n, c, (h + s - 1) // s, (w + s - 1) // s, device=x.device, dtype=x.dtype)


class Subsample(nn.Module):
    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, ::self.stride, ::self.stride]


class FactorizedReduce(nn.Module):
    """DARTS FactorizedReduce: halve the resolution with two offset 1x1 stride-2 convs."""

    def __init__(self, c_in: int, c_out: int, affine: bool):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, hidden, 1, bias=True)
        self.expand = nn.Conv2d(hidden, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = torch.sigmoid(self.expand(F.silu(self.reduce(scale))))
        return x * scale


class Resize(nn.Module):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=(self.size, self.size), mode="area")


class ResidualAdd(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SumBranches(nn.ModuleList):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self[0](x)
        for branch in self[1:]:
            out = out + branch(x)
        return out


class ConcatBranches(nn.ModuleList):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self], dim=1)


# ----------------------------------------------------------------------------- the catalogue


def _same(c: int, h: int, w: int, args: Args) -> Shape:
    return c, h, w


def _activation(name: str, factory: Callable[[Args], nn.Module]) -> None:
    register_primitive(name, doc="activation, shape-preserving")(_same, lambda c, a, affine: factory(a))


_activation("relu", lambda a: nn.ReLU(inplace=False))
_activation("relu6", lambda a: nn.ReLU6(inplace=False))
_activation("silu", lambda a: nn.SiLU(inplace=False))
_activation("sigmoid", lambda a: nn.Sigmoid())
_activation("tanh", lambda a: nn.Tanh())
register_primitive("leaky_relu", {"slope": 0.01}, "activation")(
    _same, lambda c, a, affine: nn.LeakyReLU(float(a["slope"]), inplace=False))
register_primitive("bn", {}, "BatchNorm2d; affine from the build context")(
    _same, lambda c, a, affine: nn.BatchNorm2d(c, affine=affine))
register_primitive("identity", {}, "x")(_same, lambda c, a, affine: nn.Identity())


def _conv_geometry(args: Args, span: Span) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    k = _pair(args["k"], "k", span)
    stride = _pair(args["stride"], "stride", span)
    dilation = _pair(args["dilation"], "dilation", span)
    if min(k + stride + dilation) < 1:
        raise CompileError("kernel, stride and dilation must be positive", span)
    return k, stride, dilation


def _conv_shape(c: int, h: int, w: int, args: Args) -> Shape:
    k, stride, dilation = _conv_geometry(args, args["_span"])
    out = _positive_int(args, "out", args["_span"])
    groups = _positive_int(args, "groups", args["_span"])
    if c % groups or out % groups:
        raise CompileError(f"conv groups={groups} must divide its input ({c}) and output ({out}) channels",
                           args["_span"])
    pad = tuple(d * (kk - 1) // 2 for kk, d in zip(k, dilation))
    return (out, _conv_out(h, k[0], stride[0], dilation[0], pad[0]),
            _conv_out(w, k[1], stride[1], dilation[1], pad[1]))


def _conv_build(c: int, args: Args, affine: bool) -> nn.Module:
    k, stride, dilation = _conv_geometry(args, args["_span"])
    pad = tuple(d * (kk - 1) // 2 for kk, d in zip(k, dilation))
    out, groups = int(args["out"]), int(args["groups"])
    if (groups == c == out and k[0] == k[1] and k[0] > 1 and stride[0] == stride[1]
            and dilation[0] == dilation[1]):
        # same module and parameters as nn.Conv2d; faster kernels on CPU (see .dwconv)
        return DepthwiseConv2d(c, k[0], stride=stride[0], dilation=dilation[0])
    return nn.Conv2d(c, out, k, stride=stride, padding=pad, dilation=dilation,
                     groups=groups, bias=False)


register_primitive("conv", {"k": REQUIRED, "out": Sym("C"), "stride": 1, "dilation": 1, "groups": 1},
                   "Conv2d without bias, 'same' padding")(_conv_shape, _conv_build)


def _dw_args(c: int, args: Args) -> Args:
    return {**args, "out": c, "groups": c}


register_primitive("dwconv", {"k": REQUIRED, "stride": 1, "dilation": 1}, "depthwise Conv2d")(
    lambda c, h, w, a: _conv_shape(c, h, w, _dw_args(c, a)),
    lambda c, a, affine: _conv_build(c, _dw_args(c, a), affine))


def _pw_args(args: Args) -> Args:
    return {**args, "k": 1, "dilation": 1, "groups": 1}


register_primitive("pwconv", {"out": Sym("C"), "stride": 1}, "1x1 Conv2d without bias")(
    lambda c, h, w, a: _conv_shape(c, h, w, _pw_args(a)),
    lambda c, a, affine: _conv_build(c, _pw_args(a), affine))


def _pool_pad(args: Args) -> int:
    """``pad`` of a pool: k//2 by default, else an integer from 0 to k//2."""
    k, pad = int(args["k"]), args["pad"]
    if pad is None:
        return k // 2
    if type(pad) is not int or not 0 <= pad <= k // 2:
        raise CompileError(f"pool `pad` must be an integer from 0 to k//2 = {k // 2}, got {pad!r}",
                           args["_span"])
    return pad


def _pool_shape(c: int, h: int, w: int, args: Args) -> Shape:
    k = _positive_int(args, "k", args["_span"])
    s = _positive_int(args, "stride", args["_span"])
    pad = _pool_pad(args)
    return _check_positive((c, _conv_out(h, k, s, 1, pad), _conv_out(w, k, s, 1, pad)), "pool", args["_span"])


register_primitive("max_pool", {"k": 3, "stride": 1, "pad": None}, "MaxPool2d, pad k//2 unless given")(
    _pool_shape, lambda c, a, affine: nn.MaxPool2d(int(a["k"]), int(a["stride"]), _pool_pad(a)))
register_primitive("avg_pool", {"k": 3, "stride": 1, "pad": None},
                   "AvgPool2d, pad k//2 unless given, count_include_pad=False")(
    _pool_shape, lambda c, a, affine: nn.AvgPool2d(int(a["k"]), int(a["stride"]), _pool_pad(a),
                                                   count_include_pad=False))


def _strided_shape(c: int, h: int, w: int, args: Args) -> Shape:
    s = _positive_int(args, "stride", args["_span"])
    return c, _strided(h, s), _strided(w, s)


register_primitive("zero", {"stride": 1}, "zeros of the strided input's shape")(
    _strided_shape, lambda c, a, affine: Zero(int(a["stride"])))
register_primitive("random", {"stride": 1}, "U[0,1) of the strided input's shape, fresh every call")(
    _strided_shape, lambda c, a, affine: RandomOp(int(a["stride"])))
register_primitive("subsample", {"stride": 2}, "x[:, :, ::s, ::s]")(
    _strided_shape, lambda c, a, affine: Subsample(int(a["stride"])))


def _fr_shape(c: int, h: int, w: int, args: Args) -> Shape:
    out = _positive_int(args, "out", args["_span"])
    if out % 2:
        raise CompileError(f"factorized_reduce needs an even output channel count, got {out}", args["_span"])
    if h % 2 or w % 2:
        raise CompileError(f"factorized_reduce needs an even resolution, got {h}x{w}", args["_span"],
                           hint="its two offset convolutions disagree on odd sizes; "
                                "change the input size or the reduction positions")
    return out, h // 2, w // 2


register_primitive("factorized_reduce", {"out": Sym("C")}, "DARTS FactorizedReduce (stride 2)")(
    _fr_shape, lambda c, a, affine: FactorizedReduce(c, int(a["out"]), affine))


def _se_build(c: int, args: Args, affine: bool) -> nn.Module:
    hidden = max(1, int(float(args["base"]) * float(args["ratio"])))
    return SqueezeExcite(c, hidden)


register_primitive("se", {"ratio": 0.25, "base": Sym("C")}, "squeeze-excitation")(_same, _se_build)


def _resize_shape(c: int, h: int, w: int, args: Args) -> Shape:
    size = _positive_int(args, "size", args["_span"])
    return c, size, size


register_primitive("resize", {"size": REQUIRED}, "area interpolation to size x size")(
    _resize_shape, lambda c, a, affine: Resize(int(a["size"])))


# ----------------------------------------------------------------------------- expressions


def _bound(prim: Prim, env: Mapping[str, int]) -> tuple[PrimitiveDef, Args]:
    args = bind_args(prim, env)
    args["_span"] = prim.span
    return PRIMITIVES[prim.name], args


def expr_shape(expr: OpExpr, shape: Shape, env: Mapping[str, int]) -> Shape:
    """The output shape ``(c, h, w)`` of ``expr`` applied to one sample of ``shape``.

    Raises:
        CompileError: a bad primitive or argument, a shape that does not fit, an empty output.
    """
    if isinstance(expr, Prim):
        definition, args = _bound(expr, env)
        return _check_positive(definition.shape(*shape, args), expr.name, expr.span)
    if isinstance(expr, Seq):
        for part in expr.parts:
            shape = expr_shape(part, shape, env)
        return shape
    if isinstance(expr, Residual):
        return expr_shape(expr.body, shape, env)
    if isinstance(expr, (Sum, Concat)):
        outs = [expr_shape(part, shape, env) for part in expr.parts]
        if not outs:
            raise CompileError(f"empty `{type(expr).__name__.lower()}`", _span_of(expr))
        if any(o[1:] != outs[0][1:] for o in outs):
            raise CompileError(f"branches of `{type(expr).__name__.lower()}` disagree on resolution: "
                               + ", ".join(f"{h}x{w}" for _, h, w in outs), _span_of(expr))
        if isinstance(expr, Concat):
            return sum(o[0] for o in outs), outs[0][1], outs[0][2]
        if any(o[0] != outs[0][0] for o in outs):
            raise CompileError("branches of `sum` disagree on channels: "
                               + ", ".join(str(o[0]) for o in outs), _span_of(expr))
        return outs[0]
    raise CompileError(f"not an operation expression: {expr!r}")


# Resolution used to decide statically whether a residual body keeps the shape: any size
# that every stride divides; the shape rules are resolution-independent apart from that.
_PROBE = 64


def _keeps_shape(expr: OpExpr, c_in: int, env: Mapping[str, int]) -> bool:
    return expr_shape(expr, (c_in, _PROBE, _PROBE), env) == (c_in, _PROBE, _PROBE)


def build_expr(expr: OpExpr, c_in: int, env: Mapping[str, int], affine: bool) -> tuple[nn.Module, int]:
    """Build ``expr`` for ``c_in`` input channels; returns the module and its output channels.

    ``Residual`` adds its input only when the body keeps the shape (stride 1, same
    channels); otherwise it is the body alone (the MBConv convention). A ``Seq`` becomes an
    ``nn.Sequential`` so parameter names are ``<index>.<name>``, stable across builds.
    """
    if isinstance(expr, Prim):
        definition, args = _bound(expr, env)
        c_out = definition.shape(c_in, _PROBE, _PROBE, args)[0]
        return definition.build(c_in, args, affine), c_out
    if isinstance(expr, Seq):
        modules = []
        c = c_in
        for part in expr.parts:
            module, c = build_expr(part, c, env, affine)
            modules.append(module)
        return nn.Sequential(*modules), c
    if isinstance(expr, Residual):
        body, c_out = build_expr(expr.body, c_in, env, affine)
        return (ResidualAdd(body) if _keeps_shape(expr.body, c_in, env) else body), c_out
    if isinstance(expr, (Sum, Concat)):
        built = [build_expr(part, c_in, env, affine) for part in expr.parts]
        modules = [m for m, _ in built]
        if isinstance(expr, Sum):
            return SumBranches(modules), built[0][1]
        return ConcatBranches(modules), sum(c for _, c in built)
    raise CompileError(f"not an operation expression: {expr!r}")


def _span_of(expr: OpExpr) -> Span | None:
    """The first known span inside an expression (combinators carry none themselves)."""
    if isinstance(expr, Prim):
        return expr.span
    parts = (expr.body,) if isinstance(expr, Residual) else getattr(expr, "parts", ())
    for part in parts:
        span = _span_of(part)
        if span is not None and span.known:
            return span
    return None


def is_prim(expr: OpExpr, name: str) -> bool:
    """Whether ``expr`` is the primitive ``name`` (possibly wrapped in a one-part Seq)."""
    while isinstance(expr, Seq) and len(expr.parts) == 1:
        expr = expr.parts[0]
    return isinstance(expr, Prim) and expr.name == name


def is_identity(expr: OpExpr) -> bool:
    return is_prim(expr, "identity")
