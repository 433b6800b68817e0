"""Every primitive: its shape rule agrees with the module it builds, at stride 1 and 2,
and gradients flow. Errors name the primitive and suggest fixes."""

import pytest
import torch

from genolang.compiler.lower.ir import BinOp, Concat, Num, Prim, Residual, Seq, Sum, Sym
from genolang.compiler.build.layers import build_expr
from genolang.compiler.lower.primitives import PRIMITIVES, expr_shape
from genolang.base.errors import CompileError, Span

C, S = Sym("C"), Sym("s")

# One instance per primitive, using the stride symbol where the primitive has a stride.
EXAMPLES = {
    "relu": Prim("relu"), "relu6": Prim("relu6"), "silu": Prim("silu"), "sigmoid": Prim("sigmoid"),
    "tanh": Prim("tanh"), "leaky_relu": Prim("leaky_relu", (("slope", 0.2),)), "bn": Prim("bn"),
    "identity": Prim("identity"),
    "conv": Prim("conv", (("k", 3), ("stride", S))),
    "dwconv": Prim("dwconv", (("k", 5), ("stride", S), ("dilation", 2))),
    "pwconv": Prim("pwconv", (("out", BinOp("*", Num(2), C)), ("stride", S))),
    "max_pool": Prim("max_pool", (("k", 3), ("stride", S))),
    "avg_pool": Prim("avg_pool", (("k", 5), ("stride", S))),
    "zero": Prim("zero", (("stride", S),)), "random": Prim("random", (("stride", S),)),
    "factorized_reduce": Prim("factorized_reduce"), "subsample": Prim("subsample", (("stride", S),)),
    "se": Prim("se", (("ratio", 0.5),)), "resize": Prim("resize", (("size", 4),)),
}


def test_every_primitive_has_an_example():
    assert set(EXAMPLES) == set(PRIMITIVES)


def _run(expr, c_in, stride, hw=8):
    env = {"C": 6, "s": stride}
    module, c_out = build_expr(expr, c_in, env, affine=True)
    x = torch.randn(2, c_in, hw, hw, requires_grad=True)
    y = module(x)
    assert tuple(y.shape[1:]) == expr_shape(expr, (c_in, hw, hw), env)
    assert y.shape[1] == c_out
    return x, y


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_shape_rule_matches_module_and_backward(name, stride):
    x, y = _run(EXAMPLES[name], 6, stride)
    if name in ("zero", "random"):          # no path back to the input, by definition
        assert not y.requires_grad
        return
    y.sum().backward()
    assert x.grad is not None


def test_conv_tuple_kernel_and_stride():
    expr = Seq((Prim("conv", (("k", (1, 7)), ("stride", (Num(1), S)))),
                Prim("conv", (("k", (7, 1)), ("stride", (S, Num(1)))))))
    _, y = _run(expr, 6, 2, hw=10)
    assert tuple(y.shape[2:]) == (5, 5)


def test_combinators():
    body = Seq((Prim("pwconv", (("out", BinOp("*", Num(3), C)),)), Prim("relu"), Prim("pwconv")))
    module, c = build_expr(Residual(body), 6, {"C": 6, "s": 1}, affine=True)
    assert type(module).__name__ == "ResidualAdd" and c == 6
    module, _ = build_expr(Residual(Prim("pwconv", (("stride", S),))), 6, {"C": 6, "s": 2}, affine=True)
    assert type(module).__name__ != "ResidualAdd"            # stride 2: body alone
    _, y = _run(Concat((Prim("identity"), Prim("pwconv"))), 6, 1)
    assert y.shape[1] == 12
    _, y = _run(Sum((Prim("identity"), Prim("conv", (("k", 3),)))), 6, 1)
    assert y.shape[1] == 6


def test_residual_adds_input():
    module, _ = build_expr(Residual(Prim("zero")), 3, {"C": 3, "s": 1}, affine=True)
    x = torch.randn(1, 3, 4, 4)
    assert torch.equal(module(x), x)


def test_bn_affine_follows_context():
    module, _ = build_expr(Prim("bn"), 4, {}, affine=False)
    assert module.weight is None


@pytest.mark.parametrize("expr, message, hint", [
    (Prim("sep_cnv", span=Span("a.geno", 3, 5)), "unknown primitive `sep_cnv`", None),
    (Prim("conv", (("kk", 3),)), "has no parameter `kk`", "did you mean `k`?"),
    (Prim("conv"), "needs the parameter `k`", None),
    (Prim("conv", (("k", 3), ("groups", 4))), "groups=4 must divide", None),
    (Prim("conv", (("k", "big"),)), "`k` must be an integer", None),
    (Prim("pwconv", (("out", Sym("width")),)), "symbol `width` is not bound", None),
    (Prim("factorized_reduce"), "even resolution", None),
    (Sum((Prim("identity"), Prim("pwconv", (("out", 2),)))), "disagree on channels", None),
])
def test_errors(expr, message, hint):
    with pytest.raises(CompileError) as info:
        expr_shape(expr, (6, 7, 7), {"C": 6, "s": 1})
    if message:
        assert message in info.value.message
    if hint:
        assert info.value.hint == hint


def test_unknown_primitive_keeps_span_and_suggests():
    span = Span("a.geno", 3, 5, 3, 12)
    with pytest.raises(CompileError) as info:
        build_expr(Prim("dwcov", (("k", 3),), span=span), 4, {"C": 4, "s": 1}, affine=True)
    assert info.value.span == span
    assert "`dwconv`" in info.value.hint


def test_too_small_input_is_an_error():
    with pytest.raises(CompileError, match="empty tensor"):
        expr_shape(Prim("conv", (("k", 4),)), (3, 1, 1), {"C": 3, "s": 1})
