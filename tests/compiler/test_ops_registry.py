"""Every op of every operation space (DARTS, Table 4.1 spaces 1-4, the Table 4.2 dynamic
space) maps C -> C at stride 1 and 2 as its shape rule says, and trains (backward)."""

import pytest
import torch

import irfix
from genolang.compiler.build.ops import build_edge_op, candidate_ops
from genolang.compiler.lower.primitives import expr_shape

CASES = [(space, label) for space, make in irfix.ALL_SPACES.items() for label in make().labels]


def test_space_sizes():
    sizes = {name: len(make()) for name, make in irfix.ALL_SPACES.items()}
    assert sizes == {"darts": 7, "basic": 12, "simple": 9, "mbconv": 6, "dynamic": 33}


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("space, label", CASES)
def test_op_shape_and_backward(space, label, stride):
    impl = irfix.ALL_SPACES[space]().impl(label)
    assert impl.supports_stride(stride)
    c, hw = 4, 8
    op = build_edge_op(impl, c, stride, affine=False)
    x = torch.randn(2, c, hw, hw, requires_grad=True)
    y = op(x)
    expected = expr_shape(impl.expr_for(stride), (c, hw, hw), {"C": c, "s": stride})
    assert tuple(y.shape[1:]) == expected == (c, hw // stride, hw // stride)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_leading_relu_split_matches_whole_op():
    impl = irfix.sep_conv(3)
    op = build_edge_op(impl, 4, 1, affine=False)
    assert op.starts_with_relu
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(op.after_relu(torch.relu(x)), op(x))


@pytest.mark.parametrize("zero, special", [("V0", "zero"), ("V1", None), ("V2", "random"),
                                           ("V3", "random"), ("V4", "random")])
def test_zero_configurations_append_their_op(zero, special):
    cell = irfix.darts_cell("normal", irfix.darts_space(), zero=zero)
    labels = [label for label, _ in candidate_ops(cell, "n0")]
    assert labels[:7] == list(irfix.darts_space().labels)
    assert labels[7:] == ([special] if special else [])
