"""The module side of the primitives: each one's ``nn.Module`` builder, and :func:`build_expr`.

:mod:`.primitives` holds the schemas and shape rules (no torch); this module turns a checked
op expression into modules. Builders trust the shape rules: a shape error is always found by
:func:`~genolang.compiler.lower.primitives.expr_shape` first.

Example:
    >>> from genolang.compiler.lower.ir import Prim, Seq, Sym
    >>> op = Seq((Prim("relu"), Prim("conv", (("k", 3), ("stride", Sym("s"))))))
    >>> module, c_out = build_expr(op, 8, {"C": 16, "s": 2}, affine=True)
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from genolang.compiler.build.dwconv import DepthwiseConv2d
from genolang.compiler.lower.ir import Concat, OpExpr, Prim, Residual, Seq, Sum
from genolang.compiler.lower.primitives import (
    PROBE, Args, bound, conv_geometry, conv_padding, dw_args, keeps_shape, pool_pad, pw_args,
)
from genolang.base.errors import CompileError

__all__ = ["BUILDERS", "build_expr", "Zero", "RandomOp", "Subsample", "FactorizedReduce", "SqueezeExcite",
           "Resize", "ResidualAdd", "SumBranches", "ConcatBranches"]



def strided_shape(x: torch.Tensor, stride: int) -> tuple[int, int, int, int]:
    """The shape of ``x`` subsampled by ``stride`` (ceil division, as a strided 1x1 conv gives)."""
    n, c, h, w = x.shape
    return n, c, (h + stride - 1) // stride, (w + stride - 1) // stride


class Zero(nn.Module):
    """Zeros shaped like the strided input; allocates, never convolves."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(strided_shape(x, self.stride))


class RandomOp(nn.Module):
    """U[0, 1) noise shaped like the strided input, fresh on every call (ICDARTS V2-V4)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.rand(strided_shape(x, self.stride), device=x.device, dtype=x.dtype)


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



# ----------------------------------------------------------------------------- builders


def _conv_build(c: int, args: Args, affine: bool) -> nn.Module:
    k, stride, dilation = conv_geometry(args, args["_span"])
    pad = conv_padding(k, dilation)
    out, groups = int(args["out"]), int(args["groups"])
    if (groups == c == out and k[0] == k[1] and k[0] > 1 and stride[0] == stride[1]
            and dilation[0] == dilation[1]):
        # same module and parameters as nn.Conv2d; faster kernels on CPU (see .dwconv)
        return DepthwiseConv2d(c, k[0], stride=stride[0], dilation=dilation[0])
    return nn.Conv2d(c, out, k, stride=stride, padding=pad, dilation=dilation,
                     groups=groups, bias=False)


def _se_build(c: int, args: Args, affine: bool) -> nn.Module:
    hidden = max(1, int(float(args["base"]) * float(args["ratio"])))
    return SqueezeExcite(c, hidden)


# primitive name -> (c_in, args, affine) -> nn.Module
BUILDERS: dict[str, Callable[[int, Args, bool], nn.Module]] = {
    "relu": lambda c, a, affine: nn.ReLU(inplace=False),
    "relu6": lambda c, a, affine: nn.ReLU6(inplace=False),
    "silu": lambda c, a, affine: nn.SiLU(inplace=False),
    "sigmoid": lambda c, a, affine: nn.Sigmoid(),
    "tanh": lambda c, a, affine: nn.Tanh(),
    "leaky_relu": lambda c, a, affine: nn.LeakyReLU(float(a["slope"]), inplace=False),
    "bn": lambda c, a, affine: nn.BatchNorm2d(c, affine=affine),
    "identity": lambda c, a, affine: nn.Identity(),
    "conv": _conv_build,
    "dwconv": lambda c, a, affine: _conv_build(c, dw_args(c, a), affine),
    "pwconv": lambda c, a, affine: _conv_build(c, pw_args(a), affine),
    "max_pool": lambda c, a, affine: nn.MaxPool2d(int(a["k"]), int(a["stride"]), pool_pad(a)),
    "avg_pool": lambda c, a, affine: nn.AvgPool2d(int(a["k"]), int(a["stride"]), pool_pad(a),
                                                  count_include_pad=False),
    "zero": lambda c, a, affine: Zero(int(a["stride"])),
    "random": lambda c, a, affine: RandomOp(int(a["stride"])),
    "subsample": lambda c, a, affine: Subsample(int(a["stride"])),
    "factorized_reduce": lambda c, a, affine: FactorizedReduce(c, int(a["out"]), affine),
    "se": _se_build,
    "resize": lambda c, a, affine: Resize(int(a["size"])),
}


def build_expr(expr: OpExpr, c_in: int, env: Mapping[str, int], affine: bool) -> tuple[nn.Module, int]:
    """Build ``expr`` for ``c_in`` input channels; returns the module and its output channels.

    ``Residual`` adds its input only when the body keeps the shape (stride 1, same
    channels); otherwise it is the body alone (the MBConv convention). A ``Seq`` becomes an
    ``nn.Sequential`` so parameter names are ``<index>.<name>``, stable across builds.
    """
    if isinstance(expr, Prim):
        definition, args = bound(expr, env)
        c_out = definition.shape(c_in, PROBE, PROBE, args)[0]
        builder = definition.build or BUILDERS[expr.name]
        return builder(c_in, args, affine), c_out
    if isinstance(expr, Seq):
        modules = []
        c = c_in
        for part in expr.parts:
            module, c = build_expr(part, c, env, affine)
            modules.append(module)
        return nn.Sequential(*modules), c
    if isinstance(expr, Residual):
        body, c_out = build_expr(expr.body, c_in, env, affine)
        return (ResidualAdd(body) if keeps_shape(expr.body, c_in, env) else body), c_out
    if isinstance(expr, (Sum, Concat)):
        built = [build_expr(part, c_in, env, affine) for part in expr.parts]
        modules = [m for m, _ in built]
        if isinstance(expr, Sum):
            return SumBranches(modules), built[0][1]
        return ConcatBranches(modules), sum(c for _, c in built)
    raise CompileError(f"not an operation expression: {expr!r}")
