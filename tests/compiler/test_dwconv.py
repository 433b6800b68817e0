"""The CPU-routed depthwise convolution equals the plain one: outputs and both gradients."""

import pytest
import torch
import torch.nn.functional as F

from genolang.compiler.build.dwconv import DepthwiseConv2d


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("k,stride,dilation", [(3, 1, 1), (3, 2, 1), (5, 1, 1), (5, 2, 1), (3, 1, 2),
                                               (3, 2, 2), (5, 1, 2), (5, 2, 2), (7, 1, 1)])
def test_matches_plain_depthwise_convolution(k, stride, dilation, channels_last):
    torch.manual_seed(0)
    conv = DepthwiseConv2d(6, k, stride=stride, dilation=dilation)
    x = torch.randn(3, 6, 12, 12)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        conv = conv.to(memory_format=torch.channels_last)
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    w2 = conv.weight.detach().clone().requires_grad_(True)
    out = conv(x1)
    ref = F.conv2d(x2, w2, None, stride, dilation * (k - 1) // 2, dilation, 6)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    grad = torch.randn_like(ref)
    out.backward(grad)
    ref.backward(grad)
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(conv.weight.grad, w2.grad, atol=1e-4, rtol=1e-4)
