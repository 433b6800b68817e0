"""The catalogue of primitive layers, and the builder of op expressions.

Every primitive has a parameter schema (names and defaults) and a shape rule
``(c, h, w, args) -> (c, h, w)``; its builder ``(c_in, args, affine) -> nn.Module`` lives in
:mod:`genolang.compiler.build.layers`, the only part that needs torch. Op expressions (:class:`~genolang.compiler.lower.ir.Prim`
and the combinators) are evaluated with the free symbols ``C`` and ``s`` bound by an
environment such as ``{"C": 16, "s": 2}``.

Shape rules run without building anything (and without importing torch), so the shape pass
(:mod:`.shapes`) and ``geno check`` can check a whole network before a single weight is
allocated. Builders trust the shape rules: a shape error is always found by
:func:`expr_shape` first.

Example:
    >>> from genolang.compiler.lower.ir import Prim, Seq, Sym
    >>> op = Seq((Prim("relu"), Prim("conv", (("k", 3), ("stride", Sym("s"))))))
    >>> expr_shape(op, (8, 32, 32), {"C": 16, "s": 2})
    (16, 16, 16)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

from genolang.compiler.lower.ir import (
    Concat, OpExpr, Prim, Residual, Seq, Sum, Sym, evaluate,
)
from genolang.base.errors import CompileError, Span, did_you_mean

__all__ = [
    "PrimitiveDef", "PRIMITIVES", "REQUIRED", "register_primitive", "bind_args",
    "expr_shape", "bound", "keeps_shape", "PROBE", "is_identity", "is_prim", "Shape", "conv_padding", "conv_geometry",
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
    build: Callable | None = None    # (c_in, args, affine) -> nn.Module; None: see build.layers
    doc: str = ""


PRIMITIVES: dict[str, PrimitiveDef] = {}


def register_primitive(name: str, params: Mapping[str, object] | None = None, doc: str = ""):
    """Decorator pair: ``register_primitive(name, params)(shape_rule, builder)``.

    The builder may be left out when :data:`genolang.compiler.build.layers.BUILDERS` has one for ``name`` (the
    built-in primitives), so that registering a primitive needs no torch."""

    def register(shape: Callable, build: Callable | None = None) -> PrimitiveDef:
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


# ----------------------------------------------------------------------------- the catalogue


def _same(c: int, h: int, w: int, args: Args) -> Shape:
    return c, h, w


for _name in ("relu", "relu6", "silu", "sigmoid", "tanh"):
    register_primitive(_name, doc="activation, shape-preserving")(_same)
register_primitive("leaky_relu", {"slope": 0.01}, "activation")(_same)
register_primitive("bn", {}, "BatchNorm2d; affine from the build context")(_same)
register_primitive("identity", {}, "x")(_same)


def conv_geometry(args: Args, span: Span) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(kernel, stride, dilation) of a conv's arguments, each as an (h, w) pair."""
    k = _pair(args["k"], "k", span)
    stride = _pair(args["stride"], "stride", span)
    dilation = _pair(args["dilation"], "dilation", span)
    if min(k + stride + dilation) < 1:
        raise CompileError("kernel, stride and dilation must be positive", span)
    return k, stride, dilation


def conv_padding(k: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    """'same' padding of a conv (exact for odd kernels)."""
    return tuple(d * (kk - 1) // 2 for kk, d in zip(k, dilation))


def _conv_shape(c: int, h: int, w: int, args: Args) -> Shape:
    k, stride, dilation = conv_geometry(args, args["_span"])
    out = _positive_int(args, "out", args["_span"])
    groups = _positive_int(args, "groups", args["_span"])
    if c % groups or out % groups:
        raise CompileError(f"conv groups={groups} must divide its input ({c}) and output ({out}) channels",
                           args["_span"])
    pad = conv_padding(k, dilation)
    return (out, _conv_out(h, k[0], stride[0], dilation[0], pad[0]),
            _conv_out(w, k[1], stride[1], dilation[1], pad[1]))


register_primitive("conv", {"k": REQUIRED, "out": Sym("C"), "stride": 1, "dilation": 1, "groups": 1},
                   "Conv2d without bias, 'same' padding")(_conv_shape)


def dw_args(c: int, args: Args) -> Args:
    """A depthwise conv's arguments as a conv's."""
    return {**args, "out": c, "groups": c}


register_primitive("dwconv", {"k": REQUIRED, "stride": 1, "dilation": 1}, "depthwise Conv2d")(
    lambda c, h, w, a: _conv_shape(c, h, w, dw_args(c, a)))


def pw_args(args: Args) -> Args:
    """A pointwise conv's arguments as a conv's."""
    return {**args, "k": 1, "dilation": 1, "groups": 1}


register_primitive("pwconv", {"out": Sym("C"), "stride": 1}, "1x1 Conv2d without bias")(
    lambda c, h, w, a: _conv_shape(c, h, w, pw_args(a)))


def pool_pad(args: Args) -> int:
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
    pad = pool_pad(args)
    return _check_positive((c, _conv_out(h, k, s, 1, pad), _conv_out(w, k, s, 1, pad)), "pool", args["_span"])


register_primitive("max_pool", {"k": 3, "stride": 1, "pad": None}, "MaxPool2d, pad k//2 unless given")(_pool_shape)
register_primitive("avg_pool", {"k": 3, "stride": 1, "pad": None},
                   "AvgPool2d, pad k//2 unless given, count_include_pad=False")(_pool_shape)


def _strided_shape(c: int, h: int, w: int, args: Args) -> Shape:
    s = _positive_int(args, "stride", args["_span"])
    return c, _strided(h, s), _strided(w, s)


register_primitive("zero", {"stride": 1}, "zeros of the strided input's shape")(_strided_shape)
register_primitive("random", {"stride": 1}, "U[0,1) of the strided input's shape, fresh every call")(_strided_shape)
register_primitive("subsample", {"stride": 2}, "x[:, :, ::s, ::s]")(_strided_shape)


def _fr_shape(c: int, h: int, w: int, args: Args) -> Shape:
    out = _positive_int(args, "out", args["_span"])
    if out % 2:
        raise CompileError(f"factorized_reduce needs an even output channel count, got {out}", args["_span"])
    if h % 2 or w % 2:
        raise CompileError(f"factorized_reduce needs an even resolution, got {h}x{w}", args["_span"],
                           hint="its two offset convolutions disagree on odd sizes; "
                                "change the input size or the reduction positions")
    return out, h // 2, w // 2


register_primitive("factorized_reduce", {"out": Sym("C")}, "DARTS FactorizedReduce (stride 2)")(_fr_shape)
register_primitive("se", {"ratio": 0.25, "base": Sym("C")}, "squeeze-excitation")(_same)


def _resize_shape(c: int, h: int, w: int, args: Args) -> Shape:
    size = _positive_int(args, "size", args["_span"])
    return c, size, size


register_primitive("resize", {"size": REQUIRED}, "area interpolation to size x size")(_resize_shape)


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
PROBE = 64


def keeps_shape(expr: OpExpr, c_in: int, env: Mapping[str, int]) -> bool:
    return expr_shape(expr, (c_in, PROBE, PROBE), env) == (c_in, PROBE, PROBE)


def bound(prim: Prim, env: Mapping[str, int]) -> tuple[PrimitiveDef, Args]:
    """A primitive's definition and its checked, evaluated arguments (with ``_span``)."""
    return _bound(prim, env)


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
