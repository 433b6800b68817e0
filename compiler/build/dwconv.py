"""Depthwise convolutions routed to the fast kernels of the CPU backend.

Same module, same parameters (``weight``, shape ``(C, 1, k, k)``), same function as
``nn.Conv2d(C, C, k, stride, padding=d*(k-1)//2, dilation=d, groups=C)``; only the way the
work is laid out differs. On CPU (oneDNN) the depthwise 3x3 dilation-1 convolution has a
fast forward and backward, while dilated kernels and the weight gradient of 5x5 kernels
fall to slow generic code (3-10x slower than the forward at 1 thread):

* stride 1, dilation ``d`` > 1 or kernel k ≥ 5: the native forward (fast) and a backward of
  fast parts: the input gradient is the forward convolution of the output gradient with the
  flipped kernel; the weight gradient of a dilated kernel is that of a dilation-1 kernel on
  the ``d²`` polyphase components of input and gradient (space-to-batch), and a k ≥ 5 weight
  gradient is assembled from 3x3 blocks;
* stride ``d`` = dilation ``d``: one ordinary convolution of the subsampled input.

The results equal the plain convolution's up to float rounding (the same products, summed
in another order). Everything else (other shapes, odd sizes) runs ``nn.Conv2d``'s forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DepthwiseConv2d", "depthwise_conv"]


def _phase_split(x: torch.Tensor, d: int) -> torch.Tensor:
    """``(N, C, H, W) -> (d*d*N, C, H/d, W/d)``: polyphase components stacked in the batch,
    in the input's memory format."""
    n, c, h, w = x.shape
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        y = x.permute(0, 2, 3, 1).reshape(n, h // d, d, w // d, d, c).permute(2, 4, 0, 1, 3, 5)
        return y.reshape(d * d * n, h // d, w // d, c).permute(0, 3, 1, 2)
    y = x.reshape(n, c, h // d, d, w // d, d).permute(3, 5, 0, 1, 2, 4)
    return y.reshape(d * d * n, c, h // d, w // d)


def _weight_grad(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weight gradient of a stride-1, dilation-1 'same' depthwise conv (odd k), from 3x3
    blocks (the only fast depthwise weight gradient)."""
    c, k = weight.shape[0], weight.shape[-1]
    p = k // 2
    if k == 3:
        return torch.ops.aten.convolution_backward(grad, x, weight, None, [1, 1], [1, 1], [1, 1], False,
                                                   [0, 0], c, [False, True, False])[1]
    h, w = x.shape[-2:]
    xp = F.pad(x, (p, p, p, p))
    block = weight.new_empty(c, 1, 3, 3)
    grad_w = weight.new_empty(weight.shape)
    starts = list(range(0, k - 2, 2))
    for a in starts:
        for b in starts:
            part = torch.ops.aten.convolution_backward(
                grad, xp[:, :, a:a + h + 2, b:b + w + 2], block, None, [1, 1], [0, 0], [1, 1],
                False, [0, 0], c, [False, True, False])[1]
            grad_w[:, :, a:a + 3, b:b + 3] = part
    return grad_w


def _like(t: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    if ref.is_contiguous(memory_format=torch.channels_last) and not ref.is_contiguous():
        return t.contiguous(memory_format=torch.channels_last)
    return t.contiguous()


class _DilatedDepthwise(torch.autograd.Function):
    """Stride-1 'same' depthwise conv with dilation d > 1 (H, W divisible by d): the native
    forward; input gradient = forward conv with the flipped kernel; weight gradient on the
    polyphase components (dilation 1)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, dilation: int) -> torch.Tensor:
        k = weight.shape[-1]
        ctx.save_for_backward(x, weight)
        ctx.dilation = dilation
        return F.conv2d(x, weight, padding=dilation * (k // 2), dilation=dilation, groups=weight.shape[0])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        d, c, k = ctx.dilation, weight.shape[0], weight.shape[-1]
        grad = _like(grad, x)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = F.conv2d(grad, weight.flip(2, 3), padding=d * (k // 2), dilation=d, groups=c)
        if ctx.needs_input_grad[1]:
            grad_w = _weight_grad(_phase_split(grad, d), _phase_split(x, d), weight)
        return grad_x, grad_w, None


class _BigKernelDepthwise(torch.autograd.Function):
    """Stride-1 'same' depthwise conv with an odd k ≥ 5; backward from fast kernels."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        k = weight.shape[-1]
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight, padding=k // 2, groups=weight.shape[0])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        c, p = weight.shape[0], weight.shape[-1] // 2
        grad_x = grad_w = None
        grad = _like(grad, x)
        if ctx.needs_input_grad[0]:
            grad_x = F.conv2d(grad, weight.flip(2, 3), padding=p, groups=c)
        if ctx.needs_input_grad[1]:
            grad_w = _weight_grad(grad, x, weight)
        return grad_x, grad_w


def _dense_dw(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """Dilation-1 'same' depthwise conv of odd square kernel."""
    k = weight.shape[-1]
    if stride == 1 and k >= 5 and x.device.type == "cpu":
        return _BigKernelDepthwise.apply(x, weight)
    return F.conv2d(x, weight, stride=stride, padding=k // 2, groups=weight.shape[0])


def depthwise_conv(x: torch.Tensor, weight: torch.Tensor, stride: int, dilation: int) -> torch.Tensor | None:
    """The fast form of a 'same' depthwise conv, or None where there is none."""
    k = weight.shape[-1]
    if (weight.shape[-2] != k or k % 2 == 0 or x.device.type != "cpu" or x.dtype != weight.dtype
            or torch.is_autocast_enabled("cpu") or torch.jit.is_tracing()):
        return None    # export traces the plain convolution
    if not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)) and stride == 1:
        return None    # the fast forms differ in their backward only
    if dilation == 1:
        return _dense_dw(x, weight, stride) if stride == 1 and k >= 5 else None
    h, w = x.shape[-2:]
    if stride == dilation:
        return _dense_dw(x[:, :, ::dilation, ::dilation], weight, 1)
    if stride == 1 and h % dilation == 0 and w % dilation == 0:
        return _DilatedDepthwise.apply(x, weight, dilation)
    return None


class DepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` (depthwise, no bias, 'same' padding) with the fast CPU forms above."""

    def __init__(self, channels: int, k: int, stride: int = 1, dilation: int = 1):
        super().__init__(channels, channels, k, stride=stride, padding=dilation * (k - 1) // 2,
                         dilation=dilation, groups=channels, bias=False)
        self._fast = (self.kernel_size[0] == self.kernel_size[1] and k % 2 == 1
                      and self.stride[0] == self.stride[1] and self.dilation[0] == self.dilation[1]
                      and (dilation > 1 or k >= 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fast and x.dim() == 4:
            y = depthwise_conv(x, self.weight, self.stride[0], self.dilation[0])
            if y is not None:
                return y
        return super().forward(x)
